// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cr.h"
#include "log.h"
#include "net.h"
#include "seize.h"

#define LISTEN_BACKLOG	16
#define TLS_CHUNK	16384	/* a TLS record's payload at most */

struct conn {
	int fd;
	gnutls_session_t tls;		/* NULL: plain */
	gnutls_certificate_credentials_t cred;
	char what[64];			/* the peer's role, for messages */
	char peer[INET6_ADDRSTRLEN + 8];
	char host[256];			/* client: what its cert must name */
	uint8_t *stage;			/* TLS: writes gathered into records */
};

int net_split(const char *addr, char *host, size_t hlen, unsigned *port)
{
	const char *colon = strrchr(addr, ':'), *h = addr;
	size_t n;
	char *end;
	long p;

	if (!colon || colon == addr || !colon[1])
		goto bad;
	n = colon - addr;
	if (addr[0] == '[' && colon[-1] == ']') {
		h = addr + 1;
		n -= 2;
	}
	if (!n || n >= hlen)
		goto bad;
	memcpy(host, h, n);
	host[n] = 0;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (*end || errno || p < 1 || p > 65535)
		goto bad;
	*port = p;
	return 0;
bad:
	pr_err("address \"%s\": expected HOST:PORT (PORT 1-65535)", addr);
	return -1;
}

/*
 * connect() that gives up after timeout_s (0: as long as the kernel
 * tries, ~2 min of SYN retries): a peer whose listener takes no new
 * connection (its accept queue full, SYNs dropped on the way) fails with
 * ETIMEDOUT. The socket is blocking again afterwards.
 */
static int connect_within(int fd, const struct sockaddr *a, socklen_t len,
			  unsigned timeout_s)
{
	uint64_t until = now_ns() + timeout_s * 1000000000ULL;
	int fl = fcntl(fd, F_GETFL), err = 0, r;
	socklen_t el = sizeof(err);

	if (!timeout_s || fl < 0)
		return connect(fd, a, len);
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -1;
	r = connect(fd, a, len);
	if (r && errno == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		uint64_t now;

		do {
			now = now_ns();
			r = now < until ? poll(&p, 1, (until - now) / 1000000 + 1)
					: 0;
		} while (r < 0 && errno == EINTR);
		if (!r)
			err = ETIMEDOUT;
		else if (r < 0)
			err = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el))
			err = errno;
		r = err ? -1 : 0;
	} else if (r) {
		err = errno;
	}
	fcntl(fd, F_SETFL, fl);
	errno = err;
	return r;
}

static int tcp_connect(const char *host, unsigned port, const char *what,
		       unsigned timeout_s)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	char ports[16];
	int fd = -1, one = 1, err, saved = 0;

	snprintf(ports, sizeof(ports), "%u", port);
	err = getaddrinfo(host, ports, &hints, &ai);
	if (err) {
		pr_err("%s %s:%u: %s", what, host, port, gai_strerror(err));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd >= 0 && !connect_within(fd, a->ai_addr, a->ai_addrlen,
					       timeout_s))
			break;
		saved = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		errno = saved;
		if (saved == ETIMEDOUT && timeout_s)
			pr_err("%s %s:%u: connect: no answer for %u s (it takes no "
			       "connection, or the way there is gone)", what, host,
			       port, timeout_s);
		else
			pr_perror("%s %s:%u: connect", what, host, port);
		errno = saved;
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int net_listen(const char *addr, unsigned port, const char *what)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai, *a;
	char ports[16];
	int fd = -1, one = 1, err, saved = 0;

	snprintf(ports, sizeof(ports), "%u", port);
	err = getaddrinfo(addr, ports, &hints, &ai);
	if (err) {
		pr_err("%s: address %s: %s", what, addr ? addr : "*",
		       gai_strerror(err));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, a->ai_addr, a->ai_addrlen) &&
		    !listen(fd, LISTEN_BACKLOG))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		errno = saved;
		pr_perror("%s: listen on %s:%u", what, addr ? addr : "*", port);
		return -1;
	}
	return fd;
}

unsigned net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void name_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (!getpeername(c->fd, (struct sockaddr *)&ss, &len)) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
			port = ntohs(s6->sin6_port);
		} else if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
			port = ntohs(s4->sin_port);
		}
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%u", a, port);
}

static struct conn *conn_new(int fd, const char *what)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	snprintf(c->what, sizeof(c->what), "%s", what);
	name_peer(c);
	return c;
}

void conn_close(struct conn *c)
{
	if (!c)
		return;
	if (c->tls)
		gnutls_deinit(c->tls);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	free(c->stage);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

int conn_fd(const struct conn *c)
{
	return c->fd;
}

const char *conn_peer(const struct conn *c)
{
	return c->peer;
}

void conn_set_timeout(struct conn *c, unsigned s)
{
	struct timeval tv = { s, 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- TLS ---- */

/* gnutls' own push uses send() without MSG_NOSIGNAL: a peer gone would
 * raise SIGPIPE in a process that did not ignore it. */
static ssize_t tls_push(gnutls_transport_ptr_t p, const giovec_t *iov, int n)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };

	return sendmsg((int)(long)p, &mh, MSG_NOSIGNAL);
}

/* Why a TLS call failed, in the words a user can act on. */
static void tls_error(struct conn *c, const char *stage, int err)
{
	if (err == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		unsigned st = gnutls_session_get_verify_cert_status(c->tls);
		gnutls_datum_t out = { NULL, 0 };

		gnutls_certificate_verification_status_print(st,
				GNUTLS_CRT_X509, &out, 0);
		pr_err("%s %s: TLS: its certificate is refused: %s", c->what,
		       c->peer, out.data ? (char *)out.data : "not trusted");
		gnutls_free(out.data);
	} else if (err == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		pr_err("%s %s: TLS: refused by the peer (%s): does it trust our "
		       "certificate (--tls-cert, --tls-cacert)?", c->what,
		       c->peer, gnutls_alert_get_name(gnutls_alert_get(c->tls)));
	} else if (err == GNUTLS_E_NO_CERTIFICATE_FOUND ||
		   err == GNUTLS_E_CERTIFICATE_REQUIRED) {
		pr_err("%s %s: TLS: the peer showed no certificate signed by our "
		       "CA (--tls-cacert): refused", c->what, c->peer);
	} else if (err == GNUTLS_E_PULL_ERROR || err == GNUTLS_E_PUSH_ERROR ||
		   err == GNUTLS_E_PREMATURE_TERMINATION) {
		pr_err("%s %s: TLS %s: the peer closed the connection (does it "
		       "run with --tls, and trust our certificate?)", c->what,
		       c->peer, stage);
	} else if (err == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
		   err == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
		   err == GNUTLS_E_UNEXPECTED_PACKET) {
		pr_err("%s %s: TLS %s: %s (the peer does not speak TLS: "
		       "--tls on one side only?)", c->what, c->peer, stage,
		       gnutls_strerror(err));
	} else {
		pr_err("%s %s: TLS %s: %s", c->what, c->peer, stage,
		       gnutls_strerror(err));
	}
}

static int tls_load(struct conn *c, const struct tls_opts *t)
{
	const char *ca = t->cacert ? t->cacert : TLS_DEFAULT_CACERT,
		   *cert = t->cert ? t->cert : TLS_DEFAULT_CERT,
		   *key = t->key ? t->key : TLS_DEFAULT_KEY;
	int ret;

	if (gnutls_certificate_allocate_credentials(&c->cred) < 0) {
		c->cred = NULL;
		pr_err("TLS: out of memory");
		return -1;
	}
	ret = gnutls_certificate_set_x509_trust_file(c->cred, ca,
						     GNUTLS_X509_FMT_PEM);
	if (ret <= 0) {
		pr_err("TLS: --tls-cacert %s: %s", ca, ret ? gnutls_strerror(ret)
		       : "no certificate in it");
		return -1;
	}
	ret = gnutls_certificate_set_x509_key_file(c->cred, cert, key,
						   GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		pr_err("TLS: --tls-cert %s with --tls-key %s: %s", cert, key,
		       gnutls_strerror(ret));
		return -1;
	}
	return 0;
}

int tls_files_check(const struct tls_opts *t)
{
	struct conn tmp = { .fd = -1 };
	int ret;

	if (!t || !t->on)
		return 0;
	ret = tls_load(&tmp, t);
	if (tmp.cred)
		gnutls_certificate_free_credentials(tmp.cred);
	return ret;
}

/*
 * What the peer still sends is read and dropped (for up to a second)
 * before the connection closes: closing with unread data makes the
 * kernel answer with a reset, which can destroy the alert or reply just
 * sent before the peer reads it.
 */
static void drain_peer(int fd)
{
	struct timeval tv = { 0, 200000 };
	uint64_t t0 = now_ns();
	char buf[4096];

	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (now_ns() - t0 < 1000000000ULL && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Both ends require and verify the other's certificate during the
 * handshake (gnutls_session_set_verify_cert): a failure ends it. */
static int tls_start(struct conn *c, const struct tls_opts *t, bool server,
		     unsigned timeout_s)
{
	int ret;

	if (tls_load(c, t))
		return -1;
	if (gnutls_init(&c->tls, server ? GNUTLS_SERVER : GNUTLS_CLIENT) < 0) {
		c->tls = NULL;
		pr_err("TLS: can't start a session");
		return -1;
	}
	c->stage = malloc(TLS_CHUNK);
	if (!c->stage || gnutls_set_default_priority(c->tls) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred) < 0) {
		pr_err("TLS: can't set up a session");
		return -1;
	}
	if (server)
		gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_cert(c->tls, server || t->no_cn_verify ?
				       NULL : c->host, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_transport_set_vec_push_function(c->tls, tls_push);
	if (timeout_s)
		gnutls_handshake_set_timeout(c->tls, timeout_s * 1000);
	do {
		ret = gnutls_handshake(c->tls);
	} while (ret == GNUTLS_E_INTERRUPTED);
	if (ret < 0) {
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_TIMEDOUT) {
			pr_err("%s %s: TLS handshake: nothing for %u s", c->what,
			       c->peer, timeout_s);
			return -1;
		}
		tls_error(c, "handshake", ret);
		/* the peer learns why (a TLS 1.3 client would otherwise see
		 * only a closed connection after its handshake) */
		gnutls_alert_send_appropriate(c->tls, ret);
		if (server)
			drain_peer(c->fd);
		return -1;
	}
	pr_debug("%s %s: TLS %s", c->what, c->peer,
		 gnutls_protocol_get_name(gnutls_protocol_get_version(c->tls)));
	return 0;
}

/* gnutls_record_recv's end (0) or error n as conn_read's errno; -1 */
static int tls_recv_failed(struct conn *c, ssize_t n)
{
	if (!n || n == GNUTLS_E_PREMATURE_TERMINATION ||
	    n == GNUTLS_E_PULL_ERROR) {
		errno = ECONNRESET;
	} else if (n == GNUTLS_E_AGAIN) {
		errno = EAGAIN;
	} else {
		tls_error(c, "receive", n);
		errno = EPROTO;
	}
	return -1;
}

static int tls_read(struct conn *c, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = gnutls_record_recv(c->tls, (char *)buf + got,
					       len - got);

		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n > 0) {
			got += n;
			continue;
		}
		return tls_recv_failed(c, n);
	}
	return 0;
}

static int tls_send(struct conn *c, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = gnutls_record_send(c->tls, buf, len);

		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_AGAIN) {
			errno = EAGAIN;		/* the send timeout */
			return -1;
		}
		if (n == GNUTLS_E_PUSH_ERROR) {
			if (!errno)		/* sendmsg's, as for plain */
				errno = EPIPE;
			return -1;
		}
		if (n < 0) {
			tls_error(c, "send", n);
			errno = EPROTO;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Small pieces (pages, headers) are gathered into whole records. */
static int tls_writev(struct conn *c, struct iovec *iov, int n)
{
	size_t fill = 0;

	for (int i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left) {
			size_t k = TLS_CHUNK - fill < left ? TLS_CHUNK - fill : left;

			memcpy(c->stage + fill, p, k);
			fill += k;
			p += k;
			left -= k;
			if (fill == TLS_CHUNK) {
				if (tls_send(c, c->stage, fill))
					return -1;
				fill = 0;
			}
		}
	}
	return fill ? tls_send(c, c->stage, fill) : 0;
}

/* ---- either ---- */

int conn_read(struct conn *c, void *buf, size_t len)
{
	return c->tls ? tls_read(c, buf, len) : read_full(c->fd, buf, len);
}

ssize_t conn_read_some(struct conn *c, void *buf, size_t max)
{
	ssize_t n;

	if (c->tls) {
		do
			n = gnutls_record_recv(c->tls, buf, max);
		while (n == GNUTLS_E_INTERRUPTED);
		return n > 0 ? n : tls_recv_failed(c, n);
	}
	do
		n = read(c->fd, buf, max);
	while (n < 0 && errno == EINTR);
	if (!n)
		errno = ECONNRESET;	/* end of stream */
	return n > 0 ? n : -1;
}

int conn_write(struct conn *c, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return conn_writev(c, &iov, 1);
}

int conn_writev(struct conn *c, struct iovec *iov, int n)
{
	return c->tls ? tls_writev(c, iov, n) : writev_all(c->fd, iov, n);
}

struct conn *conn_connect(const char *host, unsigned port,
			  const struct tls_opts *tls, const char *what,
			  unsigned timeout_s)
{
	int fd = tcp_connect(host, port, what, timeout_s);
	struct conn *c;

	if (fd < 0)
		return NULL;
	c = conn_new(fd, what);
	if (!c)
		return NULL;
	snprintf(c->host, sizeof(c->host), "%s", host);
	if (timeout_s)
		conn_set_timeout(c, timeout_s);
	if (tls && tls->on && tls_start(c, tls, false, timeout_s)) {
		conn_close(c);
		return NULL;
	}
	return c;
}

struct conn *conn_server(int fd, const struct tls_opts *tls,
			 unsigned timeout_s, const char *what)
{
	struct conn *c = conn_new(fd, what);

	if (!c)
		return NULL;
	if (tls && tls->on) {
		conn_set_timeout(c, timeout_s);
		if (tls_start(c, tls, true, timeout_s)) {
			conn_close(c);
			return NULL;
		}
	}
	return c;
}
