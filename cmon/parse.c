/* The documents berthd sends berth-cmon, parsed as Go's encoding/json
 * would parse them into internal/monitor's structs. */
#include "cmon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int str_array(struct jp *p, char ***out, size_t *n)
{
	for (size_t k = 0; k < *n; k++)
		free((*out)[k]);
	free(*out);
	*out = NULL;
	*n = 0;
	int r = jp_null(p);
	if (r)
		return r < 0 ? -1 : 0;
	if (jp_peek(p) != '[') {
		if (jp_skip(p, 0) < 0)
			return -1;
		p->err = "cannot unmarshal into []string";
		return -1;
	}
	p->i++;
	if (jp_peek(p) == ']') {
		p->i++;
		return 0;
	}
	for (;;) {
		char *s = NULL;
		if (jp_str_field(p, &s) < 0) {
			free(s);
			return -1;
		}
		if (!s && !(s = strdup("")))
			die("out of memory");
		char **a = realloc(*out, (*n + 1) * sizeof *a);
		if (!a)
			die("out of memory");
		a[(*n)++] = s;
		*out = a;
		int c = jp_peek(p);
		p->i++;
		if (c == ']')
			return 0;
		if (c != ',') {
			p->err = "invalid character after array element";
			return -1;
		}
	}
}

/* log_opt checks one logOpts value: a string (or null), as Go's
 * map[string]string takes it. */
static int log_opt(struct jp *p, const char *k, void *arg)
{
	int c = jp_peek(p);
	if (c == '"' || c == 'n')
		return jp_skip(p, 0);
	if (jp_skip(p, 0) < 0)
		return -1;
	p->err = "cannot unmarshal into logOpts value (a string)";
	return -1;
}

static int attach_field(struct jp *p, const char *k, void *arg);

/* attach_field_strict is attach_field refusing keys it does not know, as
 * berthd's monitor.json is read (see config_field). */
static int attach_field_strict(struct jp *p, const char *k, void *arg)
{
	if (key_is(k, "stdin") || key_is(k, "stdout") || key_is(k, "stderr"))
		return attach_field(p, k, arg);
	if (jp_skip(p, 0) < 0)
		return -1;
	p->err = "unknown attach setting (berth-cmon is older than berthd?)";
	return -1;
}

/* attach_array reads a []monitor.AttachOptions (Config.Attach,
 * ReleaseRequest.Attach) as Go's encoding/json does into the same slice:
 * null empties it, an array is decoded element by element into what the
 * slice held (a null element leaves one as it was). */
static int attach_array(struct jp *p, struct attach_list *l)
{
	int r = jp_null(p);
	if (r) {
		free(l->v);
		l->v = NULL;
		l->n = l->cap = 0;
		l->set = 0;
		return r < 0 ? -1 : 0;
	}
	if (jp_peek(p) != '[') {
		if (jp_skip(p, 0) < 0)
			return -1;
		p->err = "cannot unmarshal into []monitor.AttachOptions";
		return -1;
	}
	p->i++;
	l->set = 1;
	l->n = 0;
	if (jp_peek(p) == ']') {
		p->i++;
		return 0;
	}
	for (;;) {
		if (l->n == l->cap) {
			struct attach_req *a = realloc(l->v, (l->cap + 1) * sizeof *a);
			if (!a)
				die("out of memory");
			memset(&a[l->cap], 0, sizeof *a);
			l->v = a;
			l->cap++;
		}
		if (jp_object(p, attach_field_strict, &l->v[l->n++]) < 0)
			return -1;
		int ch = jp_peek(p);
		p->i++;
		if (ch == ']')
			return 0;
		if (ch != ',') {
			p->err = "invalid character after array element";
			return -1;
		}
	}
}

static int config_field(struct jp *p, const char *k, void *arg)
{
	struct config *c = arg;
	if (key_is(k, "id"))
		return jp_str_field(p, &c->id);
	if (key_is(k, "runtime"))
		return jp_str_field(p, &c->runtime);
	if (key_is(k, "runtimeArgs"))
		return str_array(p, &c->runtime_args, &c->nruntime_args);
	if (key_is(k, "bundle"))
		return jp_str_field(p, &c->bundle);
	if (key_is(k, "stateDir"))
		return jp_str_field(p, &c->state_dir);
	if (key_is(k, "logPath"))
		return jp_str_field(p, &c->log_path);
	if (key_is(k, "logMaxSize"))
		return jp_int(p, INT64_MIN, INT64_MAX, &c->log_max_size);
	if (key_is(k, "logMaxFiles"))
		return jp_int(p, INT64_MIN, INT64_MAX, &c->log_max_files);
	if (key_is(k, "logDriver"))
		return jp_str_field(p, &c->log_driver);
	if (key_is(k, "logCompress"))
		return jp_bool(p, &c->log_compress);
	if (key_is(k, "tty"))
		return jp_bool(p, &c->tty);
	if (key_is(k, "openStdin"))
		return jp_bool(p, &c->open_stdin);
	if (key_is(k, "stdinOnce"))
		return jp_bool(p, &c->stdin_once);
	if (key_is(k, "start"))
		return jp_bool(p, &c->start);
	if (key_is(k, "attach"))
		return attach_array(p, &c->attach);
	if (key_is(k, "runtimeState"))
		return jp_str_field(p, &c->runtime_state);
	if (key_is(k, "cgroups"))
		return str_array(p, &c->cgroups, &c->ncgroups);
	if (key_is(k, "exitNoSync"))
		return jp_bool(p, &c->exit_nosync);
	if (key_is(k, "execFifo"))
		return jp_str_field(p, &c->exec_fifo);
	/* logOpts: syslog and journald settings; berthd sends containers
	 * with those drivers to the Go monitor. */
	if (key_is(k, "logOpts"))
		return jp_object(p, log_opt, NULL);
	/* A setting this monitor does not know is refused, not ignored: a
	 * berthd newer than this berth-cmon asks for something it would not
	 * do. */
	if (jp_skip(p, 0) < 0)
		return -1;
	p->err = "unknown setting (berth-cmon is older than berthd?)";
	return -1;
}

void config_free(struct config *c)
{
	free(c->id);
	free(c->runtime);
	free(c->bundle);
	free(c->state_dir);
	free(c->log_path);
	free(c->log_driver);
	for (size_t k = 0; k < c->nruntime_args; k++)
		free(c->runtime_args[k]);
	free(c->runtime_args);
	free(c->attach.v);
	free(c->runtime_state);
	for (size_t k = 0; k < c->ncgroups; k++)
		free(c->cgroups[k]);
	free(c->cgroups);
	free(c->exec_fifo);
	memset(c, 0, sizeof *c);
}

/* parse_request parses one JSON object of s[0..n) into out (size bytes,
 * zeroed first), each member through field; on error *err says why. */
static int parse_request(const char *s, size_t n, int (*field)(struct jp *, const char *, void *),
			 void *out, size_t size, const char **err)
{
	struct jp p = {s, n, 0, NULL};
	memset(out, 0, size);
	if (jp_object(&p, field, out) == 0)
		jp_end(&p);
	*err = p.err;
	return p.err ? -1 : 0;
}

int parse_config(const char *s, size_t n, struct config *c, const char **err)
{
	return parse_request(s, n, config_field, c, sizeof *c, err);
}

static int ctl_field(struct jp *p, const char *k, void *arg)
{
	struct ctl_req *r = arg;
	if (key_is(k, "op"))
		return jp_str_field(p, &r->op);
	if (key_is(k, "height"))
		return jp_int(p, 0, 65535, &r->height);
	if (key_is(k, "width"))
		return jp_int(p, 0, 65535, &r->width);
	return jp_skip(p, 0);
}

int parse_ctl(const char *s, size_t n, struct ctl_req *r, const char **err)
{
	return parse_request(s, n, ctl_field, r, sizeof *r, err);
}

static int attach_field(struct jp *p, const char *k, void *arg)
{
	struct attach_req *r = arg;
	if (key_is(k, "stdin"))
		return jp_bool(p, &r->in);
	if (key_is(k, "stdout"))
		return jp_bool(p, &r->out);
	if (key_is(k, "stderr"))
		return jp_bool(p, &r->err);
	return jp_skip(p, 0);
}

int parse_attach(const char *s, size_t n, struct attach_req *r, const char **err)
{
	return parse_request(s, n, attach_field, r, sizeof *r, err);
}

/* release_field reads internal/monitor.ReleaseRequest, refusing what it
 * does not know as monitor.json is read (see config_field). */
static int release_field(struct jp *p, const char *k, void *arg)
{
	struct release_req *r = arg;
	if (key_is(k, "netns"))
		return jp_str_field(p, &r->netns);
	if (key_is(k, "attach"))
		return attach_array(p, &r->attach);
	if (jp_skip(p, 0) < 0)
		return -1;
	p->err = "unknown release setting (berth-cmon is older than berthd?)";
	return -1;
}

void release_free(struct release_req *r)
{
	free(r->netns);
	free(r->attach.v);
	memset(r, 0, sizeof *r);
}

int parse_release(const char *s, size_t n, struct release_req *r, const char **err)
{
	return parse_request(s, n, release_field, r, sizeof *r, err);
}
