// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "layers.h"
#include "log.h"
#include "names.h"
#include "pagemap.h"
#include "show.h"

#include "core.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "task.pb-c.h"

/* Generic protobuf-c walker: every field by its descriptor, so each new
 * image type is shown without code of its own. Flag words are shown by
 * name (names.h), registers by name. */
static void show_msg(const ProtobufCMessage *m, bool json, bool top, FILE *out);

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

static void show_u64(uint64_t v, bool json, bool hex, FILE *out)
{
	if (!json)
		fprintf(out, hex ? "%#" PRIx64 : "%" PRIu64, v);
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

/* Text output: addresses, masks and checksums in hex, counts, sizes and
 * times in decimal. */
static bool text_hex(const char *name)
{
	static const char *const hex[] = {
		"start", "end", "vaddr", "pgoff", "offset", "handler",
		"restorer", "checksum", "xsave_features", "robust_list",
		"clear_tid", "sp", "brk", "start_brk", "start_code", "end_code",
		"start_data", "end_data", "start_stack", "arg_start", "arg_end",
		"env_start", "env_end", "madv", "sigev_value", "dev", "seals",
		"page_csums",
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(hex) / sizeof(hex[0]); i++)
		if (!strcmp(name, hex[i]))
			return true;
	return !strncmp(name, "cap_", 4) || (n > 4 && !strcmp(name + n - 4, "mask")) ||
	       (n > 5 && !strcmp(name + n - 5, "_addr")) ||
	       (n > 8 && !strcmp(name + n - 8, "_pending"));
}

/* struct user_regs_struct by register name; false if it is not one */
static bool show_regs(const ProtobufCBinaryData *b, bool json, FILE *out)
{
	if (b->len != nr_regs * sizeof(uint64_t))
		return false;
	fputs(json ? "{" : "{ ", out);
	for (size_t i = 0; i < nr_regs; i++) {
		uint64_t v;

		memcpy(&v, b->data + i * sizeof(v), sizeof(v));
		fprintf(out, json ? "%s\"%s\":" : "%s%s: ",
			i ? (json ? "," : ", ") : "", reg_names[i]);
		show_u64(v, json, true, out);
	}
	fputs(json ? "}" : " }", out);
	return true;
}

static bool is_regs(const ProtobufCMessageDescriptor *md,
		    const ProtobufCFieldDescriptor *f)
{
	return md == &core_entry__descriptor && !strcmp(f->name, "regs");
}

static void show_value(const ProtobufCMessageDescriptor *md,
		       const ProtobufCFieldDescriptor *f, const void *p,
		       bool json, FILE *out)
{
	int set = flag_set_of(md->short_name, f->name);
	char names[512];

	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (set >= 0)
			show_string(flags_str(set, *(const uint32_t *)p, names,
					      sizeof(names)), out);
		else if (!json && !strcmp(f->name, "mode"))
			fprintf(out, "%#o", *(const uint32_t *)p);
		else
			fprintf(out, !json && text_hex(f->name) ? "%#x" : "%u",
				*(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(out, "%d", *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (set >= 0)
			show_string(flags_str(set, *(const uint64_t *)p, names,
					      sizeof(names)), out);
		else
			show_u64(*(const uint64_t *)p, json, text_hex(f->name),
				 out);
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
		if (!is_regs(md, f) || !show_regs(p, json, out))
			show_bytes(p, json, out);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		show_msg(*(ProtobufCMessage *const *)p, json, false, out);
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

/* Text mode, an entry: lists of messages (VMAs, sigactions, ...) and the
 * registers get a line each, below the entry's own line. */
static bool own_lines(const ProtobufCMessageDescriptor *md,
		      const ProtobufCFieldDescriptor *f)
{
	return (f->label == PROTOBUF_C_LABEL_REPEATED &&
		f->type == PROTOBUF_C_TYPE_MESSAGE) || is_regs(md, f);
}

static void show_field(const ProtobufCMessage *m,
		       const ProtobufCFieldDescriptor *f, bool json, FILE *out)
{
	const char *base = (const char *)m;

	if (f->label != PROTOBUF_C_LABEL_REPEATED) {
		show_value(m->descriptor, f, base + f->offset, json, out);
		return;
	}
	size_t n = *(const size_t *)(base + f->quantifier_offset);
	const char *arr = *(char *const *)(base + f->offset);

	fputc('[', out);
	for (size_t k = 0; k < n; k++) {
		if (k)
			fputs(json ? "," : ", ", out);
		show_value(m->descriptor, f, arr + k * elem_size(f), json, out);
	}
	fputc(']', out);
}

/* The lines of own_lines fields: "    vmas[3]: { ... }" */
static void show_own_lines(const ProtobufCMessage *m, FILE *out)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (!own_lines(d, f) || !field_present(m, f))
			continue;
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			fprintf(out, "\n    %s: ", f->name);
			show_value(d, f, base + f->offset, false, out);
			continue;
		}
		size_t n = *(const size_t *)(base + f->quantifier_offset);
		char *const *arr = *(char *const *const *)(base + f->offset);

		for (size_t k = 0; k < n; k++) {
			fprintf(out, "\n    %s[%zu]: ", f->name, k);
			show_msg((const ProtobufCMessage *)arr[k], false, false,
				 out);
		}
	}
}

static void show_msg(const ProtobufCMessage *m, bool json, bool top, FILE *out)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	bool first = true;

	fputs(json ? "{" : "{ ", out);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (!field_present(m, f) || (top && !json && own_lines(d, f)))
			continue;
		if (!first)
			fputs(json ? "," : ", ", out);
		first = false;
		fprintf(out, json ? "\"%s\":" : "%s: ", f->name);
		show_field(m, f, json, out);
	}
	fputs(json ? "}" : " }", out);
	if (top && !json)
		show_own_lines(m, out);
}

/* A pages file is compressed when its index lies beside it. */
static bool pages_have_index(const char *path, const char *name)
{
	char index[PATH_MAX];
	unsigned id;
	struct stat st;

	if (sscanf(name, "pages-%u.img", &id) != 1)
		return false;
	snprintf(index, sizeof(index), "%.*spages-index-%u.img",
		 (int)(name - path), path, id);
	return !stat(index, &st);
}

static int show_pages_file(const char *path, const char *name, bool json,
			   FILE *out)
{
	bool compressed = pages_have_index(path, name);
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
		fprintf(out, ",\"type\":\"pages\",\"compressed\":%s,\"bytes\":%lld}",
			compressed ? "true" : "false", (long long)st.st_size);
	} else if (compressed) {
		fprintf(out, "%s: compressed pages, %lld bytes (frames listed in "
			"pages-index-%.*s)\n", name, (long long)st.st_size,
			(int)strlen(name + 6), name + 6);
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
		show_msg(m, json, true, out);
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
		if (json && depth)
			fputs("[]", out);
		else if (json) {	/* the directory asked for */
			fputs("{\"file\":", out);
			show_string(path, out);
			fputs(",\"error\":\"can't read the directory\"}", out);
		}
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

/* ---- summaries of a whole directory, as crit's `x` ---- */

/* The entries of a per-process image, or NULL (with a message) */
static ProtobufCMessage **read_entries(int dirfd, enum img_type type,
				       unsigned id, size_t *nr)
{
	struct cr_img *img = img_open_read(dirfd, type, id, false);
	ProtobufCMessage **v = NULL, *m, **nv;
	size_t cap = 0;
	int ret;

	*nr = 0;
	if (!img)
		return NULL;
	while ((ret = img_read_msg(img, &m)) == 1) {
		if (*nr == cap) {
			nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!nv) {
				img_free_msg(img, m);
				ret = -1;
				break;
			}
			v = nv;
		}
		v[(*nr)++] = m;
	}
	img_close(img);
	if (ret < 0) {
		for (size_t i = 0; i < *nr; i++)
			img_free_msg(NULL, v[i]);
		free(v);
		*nr = 0;
		return NULL;
	}
	return v ? v : calloc(1, sizeof(*v));
}

static void free_entries(ProtobufCMessage **v, size_t nr)
{
	for (size_t i = 0; v && i < nr; i++)
		img_free_msg(NULL, v[i]);
	free(v);
}

struct summary {
	int dirfd;
	bool json;
	FILE *out;
	bool first;		/* JSON: no comma before the next process */
	int ret;
};

/* {"pid":N (the start of a process' JSON object, or its text line) */
static void proc_open(struct summary *s, const PstreeEntry *pe)
{
	if (s->json) {
		fprintf(s->out, "%s{\"pid\":%u", s->first ? "" : ",", pe->pid);
		s->first = false;
	}
}

static void proc_error(struct summary *s, const char *what)
{
	s->ret = -1;
	if (s->json) {
		fputs(",\"error\":", s->out);
		show_string(what, s->out);
	} else {
		fprintf(s->out, "  (%s)\n", what);
	}
}

/* A process' name: its leader's (core-PID.img), or the zombie's own */
static char *comm_of(struct summary *s, const PstreeEntry *pe)
{
	CoreEntry *ce;
	char *comm;

	if (pe->zombie || !(ce = (CoreEntry *)img_read_one(s->dirfd, IMG_CORE,
							     pe->pid)))
		return strdup(pe->comm ? pe->comm : "");
	comm = strdup(ce->comm ? ce->comm : "");
	img_free_msg(NULL, &ce->base);
	return comm;
}

static void ps_one(struct summary *s, const PstreeEntry *pe)
{
	char *comm = comm_of(s, pe);

	if (s->json) {
		proc_open(s, pe);
		fprintf(s->out, ",\"ppid\":%u,\"pgid\":%u,\"sid\":%u,\"threads\":[",
			pe->ppid, pe->pgid, pe->sid);
		for (size_t t = 0; t < pe->n_threads; t++)
			fprintf(s->out, "%s%u", t ? "," : "", pe->threads[t]);
		fputs("],\"comm\":", s->out);
		show_string(comm ? comm : "", s->out);
		fprintf(s->out, ",\"zombie\":%s}", pe->zombie ? "true" : "false");
	} else {
		fprintf(s->out, "%7u %7u %7u %7u %7zu  %s%s\n", pe->pid, pe->ppid,
			pe->pgid, pe->sid, (size_t)pe->n_threads,
			comm ? comm : "", pe->zombie ? " <zombie>" : "");
	}
	free(comm);
}

/* An fd without a path that shares its open file description with an
 * earlier fd of the process (dup): that fd, which has the path. */
static const FdEntry *ofd_owner(FdEntry **fds, size_t nr, const FdEntry *e)
{
	if (e->path || !e->has_ofd_id)
		return NULL;
	for (size_t i = 0; i < nr; i++)
		if (fds[i] != e && fds[i]->path && fds[i]->has_ofd_id &&
		    fds[i]->ofd_id == e->ofd_id)
			return fds[i];
	return NULL;
}

static void fds_one(struct summary *s, const PstreeEntry *pe)
{
	char line[PATH_MAX + 256], fl[256];
	TaskEntry *te = NULL;
	FdEntry **fds;
	size_t nr;

	proc_open(s, pe);
	if (!s->json)
		fprintf(s->out, "%u\n", pe->pid);
	if (pe->zombie) {
		fputs(s->json ? ",\"zombie\":true,\"fds\":[]}" : "  (zombie)\n",
		      s->out);
		return;
	}
	te = (TaskEntry *)img_read_one(s->dirfd, IMG_TASK, pe->pid);
	if (te && s->json) {
		fputs(",\"cwd\":", s->out);
		show_string(te->cwd, s->out);
	} else if (te) {
		fprintf(s->out, "  cwd %s\n", te->cwd);
	}
	fds = (FdEntry **)read_entries(s->dirfd, IMG_FDINFO, pe->pid, &nr);
	if (fds && !s->json) {
		for (size_t i = 0; i < nr; i++) {
			const FdEntry *o = ofd_owner(fds, nr, fds[i]);

			fprintf(s->out, "  %s", describe_fd_entry(fds[i], line,
							       sizeof(line)));
			if (o)
				fprintf(s->out, " (the file description of fd "
					"%u: %s)", o->fd, o->path);
			fputc('\n', s->out);
		}
	} else if (!fds) {
		proc_error(s, "fdinfo image unreadable");
	} else if (s->json) {
		fputs(",\"fds\":[", s->out);
		for (size_t i = 0; i < nr; i++) {
			fprintf(s->out, "%s{\"fd\":%u,\"type\":", i ? "," : "",
				fds[i]->fd);
			show_string(enum_name(&fd_type__descriptor,
					      fds[i]->type), s->out);
			fputs(",\"flags\":", s->out);
			show_string(flags_str(FLAGS_OPEN, fds[i]->flags, fl,
					      sizeof(fl)), s->out);
			{
				const FdEntry *o = ofd_owner(fds, nr, fds[i]);

				fputs(",\"path\":", s->out);
				show_string(fds[i]->path ? fds[i]->path :
					    o ? o->path : "", s->out);
				if (o)
					fprintf(s->out, ",\"shares_fd\":%u", o->fd);
			}
			fputc('}', s->out);
		}
		fputc(']', s->out);
	}
	if (s->json)
		fputc('}', s->out);
	free_entries((ProtobufCMessage **)fds, nr);
	if (te)
		img_free_msg(NULL, &te->base);
}

/* The pages of the pagemap runs inside a VMA, by where they are */
struct vma_counts {
	uint64_t stored;	/* PE_PRESENT: in this layer's pages image */
	uint64_t zero;		/* PE_ZERO */
	uint64_t parent;	/* PE_PARENT: in a parent layer's */
	uint64_t lazy;		/* PE_LAZY: in the source's frozen memory */
};

static void vma_pages(PagemapEntry **pme, size_t nr, uint64_t start,
		      uint64_t end, struct vma_counts *n)
{
	*n = (struct vma_counts){ 0 };
	for (size_t i = 0; i < nr; i++) {
		if (pme[i]->vaddr < start || pme[i]->vaddr >= end)
			continue;
		if (pme[i]->flags & PE_PRESENT)
			n->stored += pme[i]->nr_pages;
		else if (pme[i]->flags & PE_ZERO)
			n->zero += pme[i]->nr_pages;
		else if (pme[i]->flags & PE_PARENT)
			n->parent += pme[i]->nr_pages;
		else if (pme[i]->flags & PE_LAZY)
			n->lazy += pme[i]->nr_pages;
	}
}

static void mems_counts_json(const struct vma_counts *n, FILE *out)
{
	fprintf(out, ",\"pages_stored\":%" PRIu64 ",\"pages_zero\":%" PRIu64
		",\"pages_parent\":%" PRIu64 ",\"pages_lazy\":%" PRIu64,
		n->stored, n->zero, n->parent, n->lazy);
}

static void mems_vma(struct summary *s, const VmaEntry *v,
		     const struct vma_counts *n, bool first)
{
	char line[PATH_MAX + 256], fl[256];

	if (!s->json) {
		fprintf(s->out, "  %s  [%" PRIu64 " stored, %" PRIu64 " zero, %"
			PRIu64 " in the parent layer, %" PRIu64 " lazy]\n",
			describe_vma_entry(v, line, sizeof(line)), n->stored,
			n->zero, n->parent, n->lazy);
		return;
	}
	fprintf(s->out, "%s{\"start\":", first ? "" : ",");
	show_u64(v->start, true, false, s->out);
	fputs(",\"end\":", s->out);
	show_u64(v->end, true, false, s->out);
	fputs(",\"prot\":", s->out);
	show_string(flags_str(FLAGS_PROT, v->prot, fl, sizeof(fl)), s->out);
	fputs(",\"flags\":", s->out);
	show_string(flags_str(FLAGS_MAP, v->flags, fl, sizeof(fl)), s->out);
	fputs(",\"kind\":", s->out);
	show_string(enum_name(&vma_kind__descriptor, v->kind), s->out);
	fputs(",\"path\":", s->out);
	show_string(v->path ? v->path : "", s->out);
	mems_counts_json(n, s->out);
	fputc('}', s->out);
}

static void mems_one(struct summary *s, const PstreeEntry *pe)
{
	struct vma_counts n, all = { 0 };
	PagemapEntry **pme;
	MmEntry *mm;
	size_t nr;

	proc_open(s, pe);
	if (pe->zombie) {
		fputs(s->json ? ",\"zombie\":true,\"vmas\":[]}" : "", s->out);
		if (!s->json)
			fprintf(s->out, "%u (zombie)\n", pe->pid);
		return;
	}
	mm = (MmEntry *)img_read_one(s->dirfd, IMG_MM, pe->pid);
	pme = (PagemapEntry **)read_entries(s->dirfd, IMG_PAGEMAP, pe->pid, &nr);
	if (!mm || !pme) {
		if (!s->json)
			fprintf(s->out, "%u\n", pe->pid);
		proc_error(s, !mm ? "mm image unreadable" :
				    "pagemap image unreadable");
		if (s->json)
			fputc('}', s->out);
		goto out;
	}
	if (s->json) {
		fputs(",\"exe\":", s->out);
		show_string(mm->exe ? mm->exe : "", s->out);
		fputs(",\"vmas\":[", s->out);
	} else {
		fprintf(s->out, "%u %s: %zu VMAs\n", pe->pid,
			mm->exe ? mm->exe : "", mm->n_vmas);
	}
	for (size_t i = 0; i < mm->n_vmas; i++) {
		vma_pages(pme, nr, mm->vmas[i]->start, mm->vmas[i]->end, &n);
		all.stored += n.stored;
		all.zero += n.zero;
		all.parent += n.parent;
		all.lazy += n.lazy;
		mems_vma(s, mm->vmas[i], &n, i == 0);
	}
	if (s->json) {
		fputc(']', s->out);
		mems_counts_json(&all, s->out);
		fputc('}', s->out);
	} else {
		fprintf(s->out, "  %" PRIu64 " pages stored (%.1f MiB), %"
			PRIu64 " zero, %" PRIu64 " in the parent layer, %"
			PRIu64 " lazy (in the source's memory)\n", all.stored,
			all.stored * PAGE_SZ / 1048576.0, all.zero, all.parent,
			all.lazy);
	}
out:
	if (mm)
		img_free_msg(NULL, &mm->base);
	free_entries((ProtobufCMessage **)pme, nr);
}

/* A pre-dump layer holds memory only: no process tree to summarize. */
static bool is_pre_dump(int dirfd)
{
	InventoryEntry *inv;
	bool pre;

	if (faccessat(dirfd, "inventory.img", F_OK, 0))
		return false;
	inv = (InventoryEntry *)img_read_one(dirfd, IMG_INVENTORY, 0);
	if (!inv)
		return false;
	pre = inv->has_pre_dump && inv->pre_dump;
	img_free_msg(NULL, &inv->base);
	return pre;
}

int show_summary(const char *dir, enum show_summary what, bool json,
		 FILE *out)
{
	static const char *const names[] = { "ps", "fds", "mems" };
	struct summary s = { .json = json, .out = out, .first = true };
	PstreeEntry **pes;
	size_t nr;

	s.dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (s.dirfd >= 0 && is_pre_dump(s.dirfd)) {
		pr_err("%s is a pre-dump layer (memory only, no process tree): "
		       "--%s needs a dump; criu-lite show %s decodes its "
		       "pagemaps", dir, names[what], dir);
		if (json) {
			fprintf(out, "{\"%s\":null,\"error\":", names[what]);
			show_string("a pre-dump layer: no process tree", out);
			fputs("}\n", out);
		}
		close(s.dirfd);
		return -1;
	}
	pes = s.dirfd < 0 ? NULL :
	      (PstreeEntry **)read_entries(s.dirfd, IMG_PSTREE, 0, &nr);
	if (!pes) {
		if (s.dirfd < 0)
			pr_perror("open images directory %s", dir);
		if (json) {
			fprintf(out, "{\"%s\":null,\"error\":", names[what]);
			show_string(s.dirfd < 0 ? "can't open the directory" :
				    "pstree.img unreadable", out);
			fputs("}\n", out);
		}
		if (s.dirfd >= 0)
			close(s.dirfd);
		return -1;
	}
	if (json)
		fprintf(out, "{\"%s\":[", names[what]);
	else if (what == SHOW_PS)
		fprintf(out, "%7s %7s %7s %7s %7s  %s\n", "PID", "PPID", "PGID",
			"SID", "THREADS", "COMM");
	for (size_t i = 0; i < nr; i++) {
		if (what == SHOW_PS)
			ps_one(&s, pes[i]);
		else if (what == SHOW_FDS)
			fds_one(&s, pes[i]);
		else
			mems_one(&s, pes[i]);
	}
	if (json)
		fputs("]}\n", out);
	free_entries((ProtobufCMessage **)pes, nr);
	close(s.dirfd);
	return s.ret;
}
