/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A strict JSON (RFC 8259) validator, small enough to include: one value,
 * strings of valid UTF-8 without raw control characters, escapes as the
 * RFC lists them, numbers by its grammar, nesting up to JSON_MAX_DEPTH.
 * Used by tests/tools/jsoncheck (show --json | jsoncheck) and by the
 * image fuzzer, so that neither needs python or jq.
 */
#ifndef CRIU_LITE_JSONCHECK_H
#define CRIU_LITE_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define JSON_MAX_DEPTH	256

struct json_in {
	const unsigned char *s;
	size_t n, i;
	int depth;
};

static bool json_value(struct json_in *in);

static void json_ws(struct json_in *in)
{
	while (in->i < in->n && strchr(" \t\r\n", in->s[in->i]) && in->s[in->i])
		in->i++;
}

static bool json_eat(struct json_in *in, char c)
{
	json_ws(in);
	if (in->i < in->n && in->s[in->i] == (unsigned char)c) {
		in->i++;
		return true;
	}
	return false;
}

static bool json_word(struct json_in *in, const char *w)
{
	size_t l = strlen(w);

	if (in->n - in->i < l || memcmp(in->s + in->i, w, l))
		return false;
	in->i += l;
	return true;
}

/* One UTF-8 sequence at in->i, as show.c's utf8_len accepts them. */
static bool json_utf8(struct json_in *in)
{
	const unsigned char *s = in->s + in->i;
	size_t left = in->n - in->i;
	unsigned c = s[0], cp;
	size_t k;

	if (c >= 0xc2 && c <= 0xdf)
		k = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4, cp = c & 0x07;
	else
		return false;
	if (left < k)
		return false;
	for (size_t j = 1; j < k; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return false;
	in->i += k;
	return true;
}

static bool json_escape(struct json_in *in)
{
	if (in->i >= in->n)
		return false;
	if (strchr("\"\\/bfnrt", in->s[in->i]) && in->s[in->i]) {
		in->i++;
		return true;
	}
	if (in->s[in->i] != 'u' || in->n - in->i < 5)
		return false;
	for (int k = 1; k <= 4; k++)
		if (!strchr("0123456789abcdefABCDEF", in->s[in->i + k]) ||
		    !in->s[in->i + k])
			return false;
	in->i += 5;
	return true;
}

static bool json_string(struct json_in *in)
{
	if (!json_eat(in, '"'))
		return false;
	while (in->i < in->n) {
		unsigned char c = in->s[in->i];

		if (c == '"') {
			in->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			in->i++;
			if (!json_escape(in))
				return false;
		} else if (c < 0x80) {
			in->i++;
		} else if (!json_utf8(in)) {
			return false;
		}
	}
	return false;
}

static size_t json_digits(struct json_in *in)
{
	size_t k = 0;

	while (in->i < in->n && in->s[in->i] >= '0' && in->s[in->i] <= '9') {
		in->i++;
		k++;
	}
	return k;
}

static bool json_number(struct json_in *in)
{
	if (in->i < in->n && in->s[in->i] == '-')
		in->i++;
	if (in->i < in->n && in->s[in->i] == '0')
		in->i++;
	else if (!json_digits(in))
		return false;
	if (in->i < in->n && in->s[in->i] == '.') {
		in->i++;
		if (!json_digits(in))
			return false;
	}
	if (in->i < in->n && (in->s[in->i] == 'e' || in->s[in->i] == 'E')) {
		in->i++;
		if (in->i < in->n && (in->s[in->i] == '+' || in->s[in->i] == '-'))
			in->i++;
		if (!json_digits(in))
			return false;
	}
	return true;
}

/* Members or elements up to close, separated by commas; members are
 * "string": value. */
static bool json_items(struct json_in *in, char close, bool members)
{
	if (++in->depth > JSON_MAX_DEPTH)
		return false;
	if (json_eat(in, close)) {
		in->depth--;
		return true;
	}
	do {
		if (members && (!json_string(in) || !json_eat(in, ':')))
			return false;
		if (!json_value(in))
			return false;
	} while (json_eat(in, ','));
	in->depth--;
	return json_eat(in, close);
}

static bool json_value(struct json_in *in)
{
	json_ws(in);
	if (in->i >= in->n)
		return false;
	switch (in->s[in->i]) {
	case '{':
		in->i++;
		return json_items(in, '}', true);
	case '[':
		in->i++;
		return json_items(in, ']', false);
	case '"':
		return json_string(in);
	case 't':
		return json_word(in, "true");
	case 'f':
		return json_word(in, "false");
	case 'n':
		return json_word(in, "null");
	default:
		return json_number(in);
	}
}

/* Whether s[0, n) is one JSON value (surrounded by whitespace only); *at:
 * where reading stopped. */
static inline bool json_valid(const char *s, size_t n, size_t *at)
{
	struct json_in in = { (const unsigned char *)s, n, 0, 0 };
	bool ok = json_value(&in);

	json_ws(&in);
	*at = in.i;
	return ok && in.i == n;
}

#endif
