// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "layers.h"
#include "log.h"
#include "show.h"

/* Generic protobuf-c walker: every field by its descriptor, so each new
 * image type is shown without code of its own. */
static void show_msg(const ProtobufCMessage *m, bool json, FILE *out);

static void show_bytes(const ProtobufCBinaryData *b, bool json, FILE *out)
{
	size_t n = b->len < 32 ? b->len : 32;

	fputc('"', out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", b->data[i]);
	if (b->len > n)
		fprintf(out, json ? "...(%zu bytes)" : "... (%zu bytes)", b->len);
	fputc('"', out);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0], cp;
	int n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * A string as a JSON string literal (text output uses the same): quotes,
 * backslashes and control characters escaped, valid UTF-8 kept, and each
 * byte that is not part of valid UTF-8 written as \u00XX (the byte's
 * value), so the output is valid JSON whatever an image holds.
 */
static void show_string(const char *str, FILE *out)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', out);
	while (*s) {
		int n = utf8_len(s);

		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f || !n)
			fprintf(out, "\\u%04x", *s);
		else
			fwrite(s, 1, n, out);
		s += n ? n : 1;
	}
	fputc('"', out);
}

/* JSON numbers are doubles to most readers: past 2^53 a value is written
 * as a string of its decimal digits, so it stays exact. */
#define JSON_EXACT	(1ULL << 53)

static void show_u64(uint64_t v, bool json, FILE *out)
{
	if (!json)
		fprintf(out, "%#" PRIx64, v);
	else if (v > JSON_EXACT)
		fprintf(out, "\"%" PRIu64 "\"", v);
	else
		fprintf(out, "%" PRIu64, v);
}

static void show_s64(int64_t v, bool json, FILE *out)
{
	bool big = v > (int64_t)JSON_EXACT || v < -(int64_t)JSON_EXACT;

	fprintf(out, json && big ? "\"%" PRId64 "\"" : "%" PRId64, v);
}

static void show_value(const ProtobufCFieldDescriptor *f, const void *p,
		       bool json, FILE *out)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(out, f->name[0] && (strstr(f->name, "flags") ||
			strstr(f->name, "prot")) && !json ? "%#x" : "%u",
			*(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(out, "%d", *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		show_u64(*(const uint64_t *)p, json, out);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		show_s64(*(const int64_t *)p, json, out);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fprintf(out, *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
			f->descriptor, *(const int *)p);

		if (ev)
			show_string(ev->name, out);
		else
			fprintf(out, "%d", *(const int *)p);
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		show_string(*(char *const *)p ? *(char *const *)p : "", out);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		show_bytes(p, json, out);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		show_msg(*(ProtobufCMessage *const *)p, json, out);
		break;
	default:
		fprintf(out, "null");
	}
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

static bool field_present(const ProtobufCMessage *m,
			  const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) > 0;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(base + f->offset) != NULL;
	return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
}

static void show_msg(const ProtobufCMessage *m, bool json, FILE *out)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	bool first = true;

	fputs(json ? "{" : "{ ", out);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (!field_present(m, f))
			continue;
		if (!first)
			fputs(json ? "," : ", ", out);
		first = false;
		fprintf(out, json ? "\"%s\":" : "%s: ", f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);

			fputc('[', out);
			for (size_t k = 0; k < n; k++) {
				if (k)
					fputs(json ? "," : ", ", out);
				show_value(f, arr + k * elem_size(f), json, out);
			}
			fputc(']', out);
		} else {
			show_value(f, base + f->offset, json, out);
		}
	}
	fputs(json ? "}" : " }", out);
}

static int show_pages_file(const char *path, const char *name, bool json,
			   FILE *out)
{
	struct stat st;

	if (stat(path, &st)) {
		pr_perror("stat %s", path);
		if (json) {
			fputs("{\"file\":", out);
			show_string(name, out);
			fputs(",\"error\":\"can't stat it\"}", out);
		}
		return -1;
	}
	if (json) {
		fputs("{\"file\":", out);
		show_string(name, out);
		fprintf(out, ",\"type\":\"pages\",\"bytes\":%lld}",
			(long long)st.st_size);
	} else {
		fprintf(out, "%s: raw pages, %lld bytes (%lld pages)\n", name,
			(long long)st.st_size, (long long)st.st_size / 4096);
	}
	return 0;
}

/* The entries of img, one a line or a JSON array; 0 or -1 (logged) at the
 * first entry that does not decode. */
static int show_entries(struct cr_img *img, bool json, FILE *out)
{
	ProtobufCMessage *m;
	bool first = true;
	int ret;

	while ((ret = img_read_msg(img, &m)) == 1) {
		if (json && !first)
			fputc(',', out);
		if (!json)
			fputs("  ", out);
		show_msg(m, json, out);
		if (!json)
			fputc('\n', out);
		first = false;
		img_free_msg(img, m);
	}
	return ret;
}

/*
 * One file. With --json the output is one valid JSON object even when the
 * file is corrupt: {"file", "error"} if it can't be opened, and "error"
 * after the entries read so far if one does not decode (the details go to
 * stderr as usual).
 */
static int show_file(const char *path, bool json, FILE *out)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct cr_img *img;
	int ret;

	if (img_type_of_name(name) == IMG_PAGES)
		return show_pages_file(path, name, json, out);
	img = img_open_path(path);
	if (json) {
		fputs("{\"file\":", out);
		show_string(name, out);
	}
	if (!img) {
		if (json)
			fputs(",\"error\":\"not a readable criu-lite image\"}", out);
		return -1;
	}
	if (json)
		fprintf(out, ",\"type\":\"%s\",\"id\":%u,\"entries\":[",
			img_desc(img->type)->msg->short_name, img->id);
	else
		fprintf(out, "%s (%s, id %u)\n", name,
			img_desc(img->type)->msg->short_name, img->id);
	ret = show_entries(img, json, out);
	if (json)
		fputs(ret ? "],\"error\":\"corrupt entry\"}" : "]}", out);
	img_close(img);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The image files of a directory, sorted; the count, or -1. */
static int list_images(const char *path, char **names, size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(path);

	if (!d) {
		pr_perror("opendir %s", path);
		return -1;
	}
	while ((de = readdir(d)) && n < max)
		if (img_type_of_name(de->d_name) >= 0 &&
		    (names[n] = strdup(de->d_name)))
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	return n;
}

static int show_dir(const char *path, bool json, FILE *out, int depth);

/*
 * A layer's parent (DIR/parent, as pre-dump and dump --prev-images-dir
 * link them), shown after the layer's own files: as text a heading and
 * its files; in JSON one more element, {"file": "parent", "target",
 * "layer": [its files and its own parent]}.
 */
static int show_parent(const char *path, bool json, FILE *out, int depth,
		       bool comma)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	int ret;

	snprintf(link, sizeof(link), "%s/%s", path, LAYER_LINK);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;	/* no parent */
	target[n] = 0;
	if (json) {
		fputs(comma ? "," : "", out);
		fputs("{\"file\":\"" LAYER_LINK "\",\"target\":", out);
		show_string(target, out);
		fputs(",\"layer\":", out);
	} else {
		fprintf(out, "\n%s -> %s: the parent layer\n", link, target);
	}
	if (depth >= LAYER_MAX) {
		pr_err("%s: more than %d layers of parents (a loop?)", link,
		       LAYER_MAX);
		if (json)
			fputs("[],\"error\":\"too many layers\"}", out);
		return -1;
	}
	ret = show_dir(link, json, out, depth + 1);
	if (json)
		fputs("}", out);
	return ret;
}

static int show_dir(const char *path, bool json, FILE *out, int depth)
{
	char *names[4096];
	int n = list_images(path, names, 4096), ret = 0;

	if (n < 0) {
		if (json)
			fputs("[]", out);
		return -1;
	}
	if (json)
		fputc('[', out);
	for (int i = 0; i < n; i++) {
		char full[PATH_MAX];

		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		if (json && i)
			fputc(',', out);
		if (show_file(full, json, out))
			ret = -1;
		free(names[i]);
	}
	if (show_parent(path, json, out, depth, n > 0))
		ret = -1;
	if (json)
		fputc(']', out);
	return ret;
}

int show_path(const char *path, bool json, FILE *out)
{
	struct stat st;
	int ret;

	if (stat(path, &st)) {
		pr_perror("stat %s", path);
		if (json) {
			fputs("{\"file\":", out);
			show_string(path, out);
			fputs(",\"error\":\"can't stat it\"}\n", out);
		}
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		ret = show_file(path, json, out);
		if (json)
			fputc('\n', out);
		return ret;
	}
	ret = show_dir(path, json, out, 0);
	if (json)
		fputc('\n', out);
	return ret;
}
