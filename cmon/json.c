/* JSON for berth-cmon: a small strict parser for the documents berthd
 * sends (monitor.json, ctl and attach request lines), matching what Go's
 * encoding/json accepts for the same Go structs, and the encoder of
 * json-file log strings (moby's jsonlog escaping). */
#include "cmon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void skip_ws(struct jp *p)
{
	while (p->i < p->n) {
		char c = p->s[p->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->i++;
	}
}

static int fail(struct jp *p, const char *msg)
{
	if (!p->err)
		p->err = msg;
	return -1;
}

int jp_peek(struct jp *p)
{
	skip_ws(p);
	return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

int jp_expect(struct jp *p, char c)
{
	if (jp_peek(p) != (unsigned char)c)
		return fail(p, "invalid character");
	p->i++;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int read_hex4(struct jp *p, unsigned *out)
{
	unsigned v = 0;
	if (p->n - p->i < 4)
		return fail(p, "bad escape");
	for (int k = 0; k < 4; k++) {
		int h = hexval((unsigned char)p->s[p->i + k]);
		if (h < 0)
			return fail(p, "bad escape");
		v = v << 4 | (unsigned)h;
	}
	p->i += 4;
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned r)
{
	if (r < 0x80) {
		o[0] = (char)r;
		return 1;
	}
	if (r < 0x800) {
		o[0] = (char)(0xC0 | r >> 6);
		o[1] = (char)(0x80 | (r & 0x3F));
		return 2;
	}
	if (r < 0x10000) {
		o[0] = (char)(0xE0 | r >> 12);
		o[1] = (char)(0x80 | (r >> 6 & 0x3F));
		o[2] = (char)(0x80 | (r & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | r >> 18);
	o[1] = (char)(0x80 | (r >> 12 & 0x3F));
	o[2] = (char)(0x80 | (r >> 6 & 0x3F));
	o[3] = (char)(0x80 | (r & 0x3F));
	return 4;
}

/* utf8_decode decodes one rune of s[0:n] as Go's utf8.DecodeRune does:
 * an invalid or short sequence yields 0xFFFD with size 1. */
unsigned utf8_decode(const unsigned char *s, size_t n, size_t *size)
{
	unsigned c = s[0];
	*size = 1;
	if (c < 0x80)
		return c;
	size_t need;
	unsigned r, lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
		r = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		r = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		r = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0xFFFD;
	}
	if (n < need)
		return 0xFFFD;
	if (s[1] < lo || s[1] > hi)
		return 0xFFFD;
	r = r << 6 | (s[1] & 0x3F);
	for (size_t k = 2; k < need; k++) {
		if (s[k] < 0x80 || s[k] > 0xBF)
			return 0xFFFD;
		r = r << 6 | (s[k] & 0x3F);
	}
	*size = need;
	return r;
}

/* jp_string parses a JSON string into a NUL-terminated malloc'd copy
 * (*len its length). Like Go, invalid UTF-8 and lone surrogates become
 * U+FFFD. A string holding NUL is refused: C strings cannot carry it and
 * no setting of berthd's has one. */
static int str_parse(struct jp *p, char **out, size_t *len, int allownul)
{
	if (jp_expect(p, '"') < 0)
		return -1;
	/* Worst case growth: each input byte becomes at most 3 output bytes
	 * (an invalid byte becomes U+FFFD). */
	size_t start = p->i, end = start;
	while (end < p->n && p->s[end] != '"') {
		if (p->s[end] == '\\')
			end++;
		end++;
	}
	if (end >= p->n)
		return fail(p, "unexpected end of JSON input");
	char *o = malloc((end - start) * 3 + 1);
	if (!o)
		return fail(p, "out of memory");
	size_t k = 0;
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '"') {
			p->i++;
			o[k] = 0;
			*out = o;
			if (len)
				*len = k;
			return 0;
		}
		if (c < 0x20) {
			free(o);
			return fail(p, "invalid character in string literal");
		}
		if (c == '\\') {
			p->i++;
			if (p->i >= p->n)
				break;
			char e = p->s[p->i++];
			unsigned r;
			switch (e) {
			case '"': o[k++] = '"'; continue;
			case '\\': o[k++] = '\\'; continue;
			case '/': o[k++] = '/'; continue;
			case 'b': o[k++] = '\b'; continue;
			case 'f': o[k++] = '\f'; continue;
			case 'n': o[k++] = '\n'; continue;
			case 'r': o[k++] = '\r'; continue;
			case 't': o[k++] = '\t'; continue;
			case 'u':
				if (read_hex4(p, &r) < 0) {
					free(o);
					return -1;
				}
				if (r >= 0xD800 && r < 0xDC00) {
					unsigned r2;
					size_t save = p->i;
					if (p->n - p->i >= 6 && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
						p->i += 2;
						if (read_hex4(p, &r2) < 0) {
							free(o);
							return -1;
						}
						if (r2 >= 0xDC00 && r2 < 0xE000) {
							r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
						} else {
							r = 0xFFFD;
							p->i = save;
						}
					} else {
						r = 0xFFFD;
					}
				} else if (r >= 0xDC00 && r < 0xE000) {
					r = 0xFFFD;
				}
				if (r == 0 && !allownul) {
					free(o);
					return fail(p, "string holds NUL");
				}
				k += put_utf8(o + k, r);
				continue;
			default:
				free(o);
				return fail(p, "invalid escape in string literal");
			}
		}
		if (c < 0x80) {
			o[k++] = (char)c;
			p->i++;
			continue;
		}
		size_t sz;
		unsigned r = utf8_decode((const unsigned char *)p->s + p->i, p->n - p->i, &sz);
		if (r == 0xFFFD && sz == 1) {
			k += put_utf8(o + k, 0xFFFD);
		} else {
			memcpy(o + k, p->s + p->i, sz);
			k += sz;
		}
		p->i += sz;
	}
	free(o);
	return fail(p, "unexpected end of JSON input");
}

int jp_string(struct jp *p, char **out, size_t *len) { return str_parse(p, out, len, 0); }

/* number scans a JSON number; *isint says it has no fraction or exponent. */
static int number(struct jp *p, size_t *start, size_t *end, int *isint)
{
	skip_ws(p);
	size_t i = p->i;
	*isint = 1;
	*start = i;
	if (i < p->n && p->s[i] == '-')
		i++;
	if (i >= p->n)
		return fail(p, "bad number");
	if (p->s[i] == '0') {
		i++;
	} else if (p->s[i] >= '1' && p->s[i] <= '9') {
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	} else {
		return fail(p, "bad number");
	}
	if (i < p->n && p->s[i] == '.') {
		*isint = 0;
		i++;
		if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
			return fail(p, "bad number");
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
		*isint = 0;
		i++;
		if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
			return fail(p, "bad number");
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	*end = i;
	p->i = i;
	return 0;
}

static int literal(struct jp *p, const char *w)
{
	size_t l = strlen(w);
	skip_ws(p);
	if (p->n - p->i < l || memcmp(p->s + p->i, w, l) != 0)
		return fail(p, "invalid character");
	p->i += l;
	return 0;
}

int jp_null(struct jp *p)
{
	if (jp_peek(p) == 'n')
		return literal(p, "null") == 0 ? 1 : -1;
	return 0;
}

/* jp_skip skips a value. depth counts the containers around it besides
 * the top-level object: like Go's, the parser refuses more than 10000
 * nested containers. */
int jp_skip(struct jp *p, int depth)
{
	int c = jp_peek(p);
	if ((c == '{' || c == '[') && depth + 2 > 10000)
		return fail(p, "exceeded max depth");
	char *s;
	switch (c) {
	case '"':
		if (str_parse(p, &s, NULL, 1) < 0)
			return -1;
		free(s);
		return 0;
	case '{':
		p->i++;
		if (jp_peek(p) == '}') {
			p->i++;
			return 0;
		}
		for (;;) {
			if (jp_peek(p) != '"')
				return fail(p, "invalid character looking for beginning of object key string");
			if (str_parse(p, &s, NULL, 1) < 0)
				return -1;
			free(s);
			if (jp_expect(p, ':') < 0 || jp_skip(p, depth + 1) < 0)
				return -1;
			c = jp_peek(p);
			p->i++;
			if (c == '}')
				return 0;
			if (c != ',')
				return fail(p, "invalid character after object key:value pair");
		}
	case '[':
		p->i++;
		if (jp_peek(p) == ']') {
			p->i++;
			return 0;
		}
		for (;;) {
			if (jp_skip(p, depth + 1) < 0)
				return -1;
			c = jp_peek(p);
			p->i++;
			if (c == ']')
				return 0;
			if (c != ',')
				return fail(p, "invalid character after array element");
		}
	case 't':
		return literal(p, "true");
	case 'f':
		return literal(p, "false");
	case 'n':
		return literal(p, "null");
	default: {
		size_t a, b;
		int isint;
		return number(p, &a, &b, &isint);
	}
	}
}

int jp_bool(struct jp *p, int *out)
{
	int c = jp_peek(p);
	if (c == 't') {
		if (literal(p, "true") < 0)
			return -1;
		*out = 1;
		return 0;
	}
	if (c == 'f') {
		if (literal(p, "false") < 0)
			return -1;
		*out = 0;
		return 0;
	}
	if (c == 'n')
		return literal(p, "null");
	if (jp_skip(p, 0) < 0)
		return -1;
	return fail(p, "cannot unmarshal into bool");
}

/* jp_int parses an integer in [min, max], like Go into an integer field. */
int jp_int(struct jp *p, long long min, long long max, long long *out)
{
	int c = jp_peek(p);
	if (c == 'n')
		return literal(p, "null");
	if (c != '-' && (c < '0' || c > '9')) {
		if (jp_skip(p, 0) < 0)
			return -1;
		return fail(p, "cannot unmarshal into number");
	}
	size_t a, b;
	int isint;
	if (number(p, &a, &b, &isint) < 0)
		return -1;
	if (!isint || (min >= 0 && p->s[a] == '-'))
		return fail(p, "cannot unmarshal number into integer");
	char tmp[32];
	if (b - a >= sizeof tmp)
		return fail(p, "number out of range");
	memcpy(tmp, p->s + a, b - a);
	tmp[b - a] = 0;
	errno = 0;
	char *e;
	long long v = strtoll(tmp, &e, 10);
	if (errno || *e || v < min || v > max)
		return fail(p, "number out of range");
	*out = v;
	return 0;
}

/* jp_str_field parses a string field, or null (leaving *out as it is). */
int jp_str_field(struct jp *p, char **out)
{
	int c = jp_peek(p);
	if (c == 'n')
		return literal(p, "null");
	if (c != '"') {
		if (jp_skip(p, 0) < 0)
			return -1;
		return fail(p, "cannot unmarshal into string");
	}
	char *s;
	if (jp_string(p, &s, NULL) < 0)
		return -1;
	free(*out);
	*out = s;
	return 0;
}

/* key_is compares an object key with a Go struct field's JSON name the way
 * encoding/json matches them: exactly or case-insensitively, where the
 * Kelvin sign folds to k and the long s to s. */
int key_is(const char *key, const char *name)
{
	const unsigned char *k = (const unsigned char *)key;
	const unsigned char *n = (const unsigned char *)name;
	while (*k && *n) {
		int kc = *k;
		if (k[0] == 0xE2 && k[1] == 0x84 && k[2] == 0xAA) {
			kc = 'k';
			k += 3;
		} else if (k[0] == 0xC5 && k[1] == 0xBF) {
			kc = 's';
			k += 2;
		} else {
			k++;
		}
		if (kc >= 'A' && kc <= 'Z')
			kc += 'a' - 'A';
		int nc = *n++;
		if (nc >= 'A' && nc <= 'Z')
			nc += 'a' - 'A';
		if (kc != nc)
			return 0;
	}
	return !*k && !*n;
}

/* jp_object walks an object, calling field for each key; field parses the
 * value (or skips it and returns 0). */
int jp_object(struct jp *p, int (*field)(struct jp *, const char *, void *), void *arg)
{
	if (jp_null(p))
		return p->err ? -1 : 0;
	if (jp_peek(p) != '{') {
		if (jp_skip(p, 0) < 0)
			return -1;
		return fail(p, "cannot unmarshal into object");
	}
	p->i++;
	if (jp_peek(p) == '}') {
		p->i++;
		return 0;
	}
	for (;;) {
		char *key;
		if (jp_peek(p) != '"')
			return fail(p, "invalid character looking for beginning of object key string");
		if (str_parse(p, &key, NULL, 1) < 0)
			return -1;
		int r = jp_expect(p, ':');
		if (r == 0)
			r = field(p, key, arg);
		free(key);
		if (r < 0)
			return -1;
		int c = jp_peek(p);
		p->i++;
		if (c == '}')
			return 0;
		if (c != ',')
			return fail(p, "invalid character after object key:value pair");
	}
}

int jp_end(struct jp *p)
{
	skip_ws(p);
	if (p->i != p->n)
		return fail(p, "invalid character after top-level value");
	return 0;
}

/* --- encoding --- */

int buf_grow(struct buf *b, size_t more)
{
	if (b->n + more <= b->cap)
		return 0;
	size_t c = b->cap ? b->cap : 256;
	while (c < b->n + more)
		c *= 2;
	char *d = realloc(b->d, c);
	if (!d)
		return -1;
	b->d = d;
	b->cap = c;
	return 0;
}

void buf_put(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) < 0)
		die("out of memory");
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

void buf_puts(struct buf *b, const char *s) { buf_put(b, s, strlen(s)); }

void buf_free(struct buf *b)
{
	free(b->d);
	b->d = NULL;
	b->n = b->cap = 0;
}

/* json_string appends s as a JSON string the way moby's jsonlog (and Go's
 * encoding/json) writes it: HTML-safe, invalid UTF-8 as \ufffd, U+2028 and
 * U+2029 escaped. */
void json_string(struct buf *b, const char *sp, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)sp;
	buf_put(b, "\"", 1);
	size_t start = 0, i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c >= 0x20 && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&') {
				i++;
				continue;
			}
			buf_put(b, s + start, i - start);
			char e[6];
			switch (c) {
			case '\\': case '"':
				e[0] = '\\';
				e[1] = (char)c;
				buf_put(b, e, 2);
				break;
			case '\n': buf_put(b, "\\n", 2); break;
			case '\r': buf_put(b, "\\r", 2); break;
			default:
				memcpy(e, "\\u00", 4);
				e[4] = hex[c >> 4];
				e[5] = hex[c & 0xF];
				buf_put(b, e, 6);
			}
			i++;
			start = i;
			continue;
		}
		size_t sz;
		unsigned r = utf8_decode(s + i, n - i, &sz);
		if (r == 0xFFFD && sz == 1) {
			buf_put(b, s + start, i - start);
			buf_put(b, "\\ufffd", 6);
			i++;
			start = i;
			continue;
		}
		if (r == 0x2028 || r == 0x2029) {
			buf_put(b, s + start, i - start);
			buf_puts(b, r == 0x2028 ? "\\u2028" : "\\u2029");
			i += sz;
			start = i;
			continue;
		}
		i += sz;
	}
	buf_put(b, s + start, n - start);
	buf_put(b, "\"", 1);
}
