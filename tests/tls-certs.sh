#!/bin/sh
# Throw-away certificates for the TLS tests: tests/tls-certs.sh OUT [IP...]
#   OUT/ca.pem, OUT/cert.pem, OUT/key.pem      a CA and a certificate it
#                                              signed, naming 127.0.0.1,
#                                              localhost and each IP
#   OUT/other-ca.pem, OUT/other-cert.pem, OUT/other-key.pem
#                                              the same from another CA
set -eu
out=$1
shift
san="IP:127.0.0.1,DNS:localhost"
for ip in "$@"; do san="$san,IP:$ip"; done
mkdir -p "$out"
cd "$out"
for who in "" other-; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "${who}ca-key.pem" -out "${who}ca.pem" -days 2 \
		-subj "/CN=criu-lite test ${who}CA" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "${who}key.pem" -out "${who}req.pem" \
		-subj "/CN=criu-lite test" 2>/dev/null
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
		"$san" >ext.cnf
	openssl x509 -req -in "${who}req.pem" -CA "${who}ca.pem" \
		-CAkey "${who}ca-key.pem" -CAcreateserial -days 2 \
		-extfile ext.cnf -out "${who}cert.pem" 2>/dev/null
done
rm -f ext.cnf ./*req.pem ./*.srl
