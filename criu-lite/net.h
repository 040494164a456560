/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP for the page server, migrate and their clients: HOST:PORT, IPv4 or
 * IPv6, and one connection type every user reads and writes through,
 * plain or TLS (gnutls, CRIU's option names: --tls, --tls-cacert,
 * --tls-cert, --tls-key, --tls-no-cn-verify). With TLS both ends show a
 * certificate signed by the CA they trust, and each refuses the other's
 * if it is not (a client also checks that the server's certificate
 * names the host it dialled, unless no_cn_verify).
 */
#ifndef CRIU_LITE_NET_H
#define CRIU_LITE_NET_H

#include <stdbool.h>
#include <stddef.h>

struct iovec;

/* CRIU's default files, used with --tls when no other is named. */
#define TLS_DEFAULT_CACERT	"/etc/pki/CA/cacert.pem"
#define TLS_DEFAULT_CERT	"/etc/pki/criu/cert.pem"
#define TLS_DEFAULT_KEY		"/etc/pki/criu/private/key.pem"

struct tls_opts {
	bool on;
	const char *cacert, *cert, *key;	/* NULL: the default file */
	bool no_cn_verify;
};

/* "HOST:PORT" or "[V6]:PORT" into host and port; -1 (logged) if bad. */
int net_split(const char *addr, char *host, size_t hlen, unsigned *port);
/* A listening socket on addr (NULL: every address) and port (0: one the
 * kernel picks; net_local_port() says which). -1 (logged) on failure. */
int net_listen(const char *addr, unsigned port, const char *what);
unsigned net_local_port(int fd);

struct conn;

/* --tls: the certificate files load (0), or -1 with the file named; at a
 * command's start, rather than at its first connection. */
int tls_files_check(const struct tls_opts *t);
/* A connection to host:port (TCP_NODELAY), TLS with tls->on; what names
 * the peer in messages. With timeout_s, the connect, the TLS handshake
 * and then every read and write of the connection that waits longer than
 * that fail (ETIMEDOUT for the connect, EAGAIN after: conn_set_timeout);
 * 0: they wait as long as it takes. NULL (logged: why, TLS refusals and
 * timeouts included). */
struct conn *conn_connect(const char *host, unsigned port,
			  const struct tls_opts *tls, const char *what,
			  unsigned timeout_s);
/* The server end of accepted socket fd (taken over, closed on failure):
 * the TLS handshake, bounded by timeout_s, with tls->on. NULL (logged,
 * naming the peer) if the peer is refused or says nothing in time. */
struct conn *conn_server(int fd, const struct tls_opts *tls,
			 unsigned timeout_s, const char *what);
/* All of len, or -1: errno ECONNRESET at the end of the stream, EAGAIN
 * when the receive timeout passed, EPROTO for a TLS error (logged). */
int conn_read(struct conn *c, void *buf, size_t len);
/* Between 1 and max bytes, what is there (waits for at least one); the
 * number, or -1 as conn_read. */
ssize_t conn_read_some(struct conn *c, void *buf, size_t max);
int conn_write(struct conn *c, const void *buf, size_t len);
/* All of the iovecs (which it uses up). */
int conn_writev(struct conn *c, struct iovec *iov, int n);
/* Reads (and, for the handshake, writes) that wait longer than s seconds
 * fail with EAGAIN; 0: wait as long as it takes. */
void conn_set_timeout(struct conn *c, unsigned s);
int conn_fd(const struct conn *c);
/* "ADDR:PORT" of the peer, for messages. */
const char *conn_peer(const struct conn *c);
void conn_close(struct conn *c);

#endif
