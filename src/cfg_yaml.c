/* SPDX-License-Identifier: MIT */
/*
 * cfg_yaml.c: strict YAML -> located tree (struct sg_node) through
 * libyaml's event parser. Owns the parser for the duration of one call;
 * the tree lives in the caller's arena. Rejects what libyaml accepts
 * but a security config must not: duplicate keys, anchors and aliases,
 * non-standard tags, non-scalar keys, nesting deeper than
 * SG_CFG_MAX_DEPTH and more than one document. Knows nothing about the
 * schema: unknown keys and types are cfg_lower's job.
 */
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "sockguard/cfg.h"

/* One open mapping or sequence. */
struct yaml_frame {
	struct sg_node *node;  /* NULL while skipping a rejected subtree */
	struct sg_node *last;  /* last child appended */
	/* mappings: the key waiting for its value */
	bool have_key;
	bool drop_value;       /* the value of a rejected key is skipped */
	const char *key;
	struct sg_loc key_loc;
};

struct yaml_builder {
	struct sg_arena *a;
	struct sg_diag *d;
	const char *file;
	struct yaml_frame stack[SG_CFG_MAX_DEPTH + 1];
	size_t depth;          /* frames in use */
	size_t skip;           /* >0: nesting level inside a skipped subtree */
#define YAML_SKIP_MAX_DEPTH 64
	struct sg_node *root;
	unsigned docs;
	bool fatal;
};

static struct sg_loc yaml_loc(const struct yaml_builder *b,
    const yaml_mark_t *m);
static int yaml_event(struct yaml_builder *b, const yaml_event_t *ev);
static bool yaml_props_ok(struct yaml_builder *b, const yaml_event_t *ev,
    const yaml_char_t *anchor, const yaml_char_t *tag);
static const char *yaml_path(struct yaml_builder *b, const char *last);
static void yaml_attach(struct yaml_builder *b, struct sg_node *n);
static bool yaml_is_null(const yaml_event_t *ev);

/* Tags that only restate what the value already is. */
static const char *const yaml_std_tags[] = {
	"tag:yaml.org,2002:str",
	"tag:yaml.org,2002:int",
	"tag:yaml.org,2002:bool",
	"tag:yaml.org,2002:null",
	"tag:yaml.org,2002:float",
	"tag:yaml.org,2002:map",
	"tag:yaml.org,2002:seq",
};

struct sg_node *
sg_cfg_yaml_parse(struct sg_arena *a, struct sg_diag *d, const char *file,
    const char *buf, size_t len)
{
	struct yaml_builder b;
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false;

	memset(&b, 0, sizeof(b));
	b.a = a;
	b.d = d;
	b.file = file;
	if (!yaml_parser_initialize(&p)) {
		sg_diag_error(d, NULL, NULL, "%s: cannot initialise the YAML "
		    "parser", file);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && !b.fatal) {
		if (!yaml_parser_parse(&p, &ev)) {
			struct sg_loc loc = yaml_loc(&b, &p.problem_mark);

			if (p.context != NULL)
				sg_diag_error(d, &loc, NULL,
				    "YAML syntax error: %s %s",
				    p.problem ? p.problem : "invalid YAML",
				    p.context);
			else
				sg_diag_error(d, &loc, NULL,
				    "YAML syntax error: %s",
				    p.problem ? p.problem : "invalid YAML");
			b.fatal = true;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (b.fatal)
		return NULL;
	if (b.root == NULL) {
		/* An empty file (or a lone null) is an empty config. */
		b.root = sg_arena_alloc(a, sizeof(*b.root));
		b.root->kind = SG_NODE_MAP;
		b.root->loc = (struct sg_loc){file, 1, 1};
	}
	return b.root;
}

static struct sg_loc
yaml_loc(const struct yaml_builder *b, const yaml_mark_t *m)
{
	struct sg_loc loc = {b->file, (uint32_t)m->line + 1,
	    (uint32_t)m->column + 1};

	return loc;
}

static int
yaml_event(struct yaml_builder *b, const yaml_event_t *ev)
{
	struct sg_loc loc = yaml_loc(b, &ev->start_mark);
	struct yaml_frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	struct sg_node *n;
	bool start;

	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_NO_EVENT:
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1) {
			sg_diag_error(b->d, &loc, NULL, "multiple YAML "
			    "documents are not supported; use one document "
			    "per file");
			b->fatal = true;
			return -1;
		}
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (b->skip > 0) {
			b->skip--;
			return 0;
		}
		b->depth--;
		return 0;
	default:
		break;
	}

	/* A node: alias, scalar, mapping or sequence. */
	start = ev->type == YAML_MAPPING_START_EVENT ||
	    ev->type == YAML_SEQUENCE_START_EVENT;
	if (b->skip > 0) {
		/*
		 * libyaml's scanner spends time in proportion to the depth
		 * on every token, so a file nested thousands of levels deep
		 * would take minutes (in the event loop, on a reload): the
		 * reading stops well past the reported level instead.
		 */
		if (start && ++b->skip > YAML_SKIP_MAX_DEPTH) {
			sg_diag_error(b->d, &loc, NULL, "nesting over %d "
			    "levels deep: the rest of the file is not read",
			    SG_CFG_MAX_DEPTH + YAML_SKIP_MAX_DEPTH);
			b->fatal = true;
			return -1;
		}
		return 0;
	}
	if (ev->type == YAML_ALIAS_EVENT) {
		sg_diag_error(b->d, &loc, yaml_path(b, NULL),
		    "YAML anchors and aliases are not supported");
		if (f != NULL && f->node->kind == SG_NODE_MAP) {
			if (f->drop_value)
				f->drop_value = false;
			else if (f->have_key)
				f->have_key = false;
			else
				f->drop_value = true;
		}
		return -1;
	}

	/* A mapping key. */
	if (f != NULL && f->node->kind == SG_NODE_MAP && !f->have_key &&
	    !f->drop_value) {
		const struct sg_node *c;
		const char *key;

		if (start) {
			sg_diag_error(b->d, &loc, yaml_path(b, NULL),
			    "mapping keys must be plain strings, got a %s",
			    ev->type == YAML_MAPPING_START_EVENT ? "mapping" :
			    "sequence");
			b->skip = 1;
			f->drop_value = true;
			return -1;
		}
		key = sg_arena_strndup(b->a,
		    (const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		if (!yaml_props_ok(b, ev, ev->data.scalar.anchor,
		    ev->data.scalar.tag)) {
			f->drop_value = true;
			return -1;
		}
		for (c = f->node->child; c != NULL; c = c->next) {
			if (strcmp(c->key, key) == 0) {
				sg_diag_error(b->d, &loc, yaml_path(b, key),
				    "duplicate key \"%s\" (first defined at "
				    "line %u)", key, c->key_loc.line);
				f->drop_value = true;
				return -1;
			}
		}
		f->have_key = true;
		f->key = key;
		f->key_loc = loc;
		return 0;
	}

	/* The value of a rejected key: skip it whole. */
	if (f != NULL && f->drop_value) {
		f->drop_value = false;
		if (start)
			b->skip = 1;
		return 0;
	}

	if (ev->type == YAML_SCALAR_EVENT) {
		if (!yaml_props_ok(b, ev, ev->data.scalar.anchor,
		    ev->data.scalar.tag)) {
			if (f != NULL)
				f->have_key = false;
			return -1;
		}
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		if (!yaml_props_ok(b, ev, ev->data.mapping_start.anchor,
		    ev->data.mapping_start.tag)) {
			b->skip = 1;
			if (f != NULL)
				f->have_key = false;
			return -1;
		}
	} else if (!yaml_props_ok(b, ev, ev->data.sequence_start.anchor,
	    ev->data.sequence_start.tag)) {
		b->skip = 1;
		if (f != NULL)
			f->have_key = false;
		return -1;
	}

	if (start && b->depth >= SG_CFG_MAX_DEPTH) {
		sg_diag_error(b->d, &loc, yaml_path(b, f && f->have_key ?
		    f->key : NULL), "nesting deeper than %d levels is not "
		    "supported", SG_CFG_MAX_DEPTH);
		b->skip = 1;
		if (f != NULL)
			f->have_key = false;
		return -1;
	}

	n = sg_arena_alloc(b->a, sizeof(*n));
	n->loc = loc;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->kind = SG_NODE_SCALAR;
		n->str = sg_arena_strndup(b->a,
		    (const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
		    ev->data.scalar.tag != NULL;
		n->null = yaml_is_null(ev);
	} else {
		n->kind = ev->type == YAML_MAPPING_START_EVENT ? SG_NODE_MAP :
		    SG_NODE_SEQ;
	}

	if (f == NULL) {
		/* The document root. */
		if (n->kind != SG_NODE_MAP && !n->null) {
			sg_diag_error(b->d, &loc, NULL, "the top level of the "
			    "config must be a mapping of keys, got a %s",
			    n->kind == SG_NODE_SEQ ? "sequence" : "scalar");
			b->fatal = true;
			return -1;
		}
		if (n->kind == SG_NODE_MAP)
			b->root = n;
	} else {
		yaml_attach(b, n);
	}
	if (start) {
		struct yaml_frame *nf = &b->stack[b->depth++];

		memset(nf, 0, sizeof(*nf));
		nf->node = n;
	}
	return 0;
}

static void
yaml_attach(struct yaml_builder *b, struct sg_node *n)
{
	struct yaml_frame *f = &b->stack[b->depth - 1];

	if (f->node->kind == SG_NODE_MAP) {
		n->key = f->key;
		n->key_loc = f->key_loc;
		f->have_key = false;
	}
	if (f->last == NULL)
		f->node->child = n;
	else
		f->last->next = n;
	f->last = n;
	f->node->nchild++;
}

static bool
yaml_props_ok(struct yaml_builder *b, const yaml_event_t *ev,
    const yaml_char_t *anchor, const yaml_char_t *tag)
{
	struct sg_loc loc = yaml_loc(b, &ev->start_mark);
	struct yaml_frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	const char *key = f && f->have_key ? f->key : NULL;
	size_t i;

	if (ev->type == YAML_SCALAR_EVENT &&
	    memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) !=
	    NULL) {
		sg_diag_error(b->d, &loc, yaml_path(b, key),
		    "NUL characters are not allowed in the config");
		return false;
	}
	if (anchor != NULL) {
		sg_diag_error(b->d, &loc, yaml_path(b, key),
		    "YAML anchors and aliases are not supported");
		return false;
	}
	if (tag == NULL)
		return true;
	for (i = 0; i < SG_ARRAY_LEN(yaml_std_tags); i++)
		if (strcmp((const char *)tag, yaml_std_tags[i]) == 0)
			return true;
	sg_diag_error(b->d, &loc, yaml_path(b, key),
	    "YAML tag \"%s\" is not supported", (const char *)tag);
	return false;
}

static bool
yaml_is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	if (ev->data.scalar.tag != NULL)
		return strcmp((const char *)ev->data.scalar.tag,
		    "tag:yaml.org,2002:null") == 0;
	return ev->data.scalar.length == 0 || strcmp(v, "~") == 0 ||
	    strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	    strcmp(v, "NULL") == 0;
}

/* Dotted path of the current position ("rules[2].match.path"). */
static const char *
yaml_path(struct yaml_builder *b, const char *last)
{
	char buf[1024];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < b->depth; i++) {
		const struct yaml_frame *f = &b->stack[i];
		const struct sg_node *c = f->last;
		bool inner = i + 1 < b->depth;
		int w = 0;

		if (f->node->kind == SG_NODE_SEQ) {
			/* The open child, or the next one to come. */
			uint32_t idx = inner ? f->node->nchild - 1 :
			    f->node->nchild;

			w = snprintf(buf + n, sizeof(buf) - n, "[%u]", idx);
		} else if (inner && c != NULL) {
			w = snprintf(buf + n, sizeof(buf) - n, "%s%s",
			    n ? "." : "", c->key);
		} else if (!inner && f->have_key && last == NULL) {
			w = snprintf(buf + n, sizeof(buf) - n, "%s%s",
			    n ? "." : "", f->key);
		}
		if (w < 0 || (size_t)w >= sizeof(buf) - n)
			break;
		n += (size_t)w;
	}
	if (last != NULL && n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "." : "", last);
	return buf[0] ? sg_arena_strdup(b->a, buf) : NULL;
}
