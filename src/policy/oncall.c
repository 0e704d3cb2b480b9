/*
 * oncall.c - the on-call schedule (see oncall.h for the format and its rules).
 */
#include "policy/oncall.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"
#include "common/validate.h"
#include "common/yschema.h"
#include "common/ytree.h"

typedef char user_name[BG_MAX_USER_NAME + 1];

typedef struct rotation {
	char name[BG_MAX_ROTATION_NAME + 1];
	int64_t start, shift;
	user_name *members;
	size_t n_members;
	unsigned line;
} rotation;

typedef struct override {
	user_name user;
	size_t rotation;
	int64_t from, until;
	unsigned line;
} override;

struct oncall {
	rotation *rot;
	size_t n_rot;
	override *ov;
	size_t n_ov;
};

/* A user name into out, or a problem at its line. */
static int user_read(const ys_file *f, const ytree_node *v, const char *key, user_name out)
{
	const char *s;
	bg_err why;
	int rc = ys_at(f, v->line, ys_text(v, key, &s, &why), &why);

	if (rc != 0)
		return rc;
	if (!bg_valid_user_name(s))
		return ys_fail(f, v->line, "%s '%.64s': %s", key, s, BG_USER_NAME_RULE);
	memcpy(out, s, v->len + 1);
	return 0;
}

/* An RFC 3339 UTC time. */
static int time_read(const ys_file *f, const ytree_node *v, const char *key, int64_t *out)
{
	const char *s;
	bg_err why;
	int rc = ys_at(f, v->line, ys_text(v, key, &s, &why), &why);

	if (rc != 0)
		return rc;
	if (bg_rfc3339_parse(s, v->len, out) != 0)
		return ys_fail(f, v->line,
		               "%s '%.40s' is not an RFC 3339 UTC time such as "
		               "2026-01-05T09:00:00Z",
		               key, s);
	return 0;
}

/* A required key of map m. */
static int need(const ys_file *f, const ytree_node *m, const char *key, const char *what,
                const ytree_node **out)
{
	*out = ytree_get(m, key);
	return *out != NULL ? 0 : ys_fail(f, m->line, "%s needs %s", what, key);
}

static int rotation_read(const ys_file *f, oncall *o, const ytree_node *v)
{
	static const char *const known[] = {"name", "start", "shift", "members", NULL};
	rotation *r = &o->rot[o->n_rot];
	const ytree_node *x;
	const char *s;
	bg_err why;
	size_t i;
	int rc;

	if ((rc = ys_check_keys(f, v, "a rotation", known)) != 0)
		return rc;
	r->line = v->line;
	if ((rc = need(f, v, "name", "a rotation", &x)) != 0 ||
	    (rc = ys_at(f, x->line, ys_text(x, "name", &s, &why), &why)) != 0)
		return rc;
	if (!bg_valid_id(s, BG_MAX_ROTATION_NAME))
		return ys_fail(f, x->line, "rotation name '%.64s': 1 to %d of A-Z a-z 0-9 . _ -", s,
		               BG_MAX_ROTATION_NAME);
	for (i = 0; i < o->n_rot; i++) {
		if (strcmp(o->rot[i].name, s) == 0)
			return ys_fail(f, x->line,
			               "rotation %s is defined twice (first on line %u)", s,
			               o->rot[i].line);
	}
	memcpy(r->name, s, x->len + 1);
	if ((rc = need(f, v, "start", r->name, &x)) != 0 ||
	    (rc = time_read(f, x, "start", &r->start)) != 0)
		return rc;
	if ((rc = need(f, v, "shift", r->name, &x)) != 0 ||
	    (rc = ys_at(f, x->line, ys_duration(x, "shift", BG_MAX_SHIFT_SECONDS, &r->shift, &why),
	                &why)) != 0)
		return rc;
	if ((rc = need(f, v, "members", r->name, &x)) != 0)
		return rc;
	if (x->kind != YTREE_SEQ || x->n == 0 || x->n > BG_MAX_ONCALL_MEMBERS)
		return ys_fail(f, x->line, "members must be a list of 1 to %d user names",
		               BG_MAX_ONCALL_MEMBERS);
	r->members = calloc(x->n, sizeof(*r->members));
	if (r->members == NULL)
		return bg_err_set(f->e, BG_ENOMEM, "out of memory");
	o->n_rot++; /* from here oncall_free frees the members */
	for (i = 0; i < x->n; i++) {
		if ((rc = user_read(f, x->kids[i], "member", r->members[i])) != 0)
			return rc;
	}
	r->n_members = x->n;
	return 0;
}

static int override_read(const ys_file *f, oncall *o, const ytree_node *v)
{
	static const char *const known[] = {"user", "rotation", "from", "until", NULL};
	override *ov = &o->ov[o->n_ov];
	const ytree_node *x;
	const char *s;
	bg_err why;
	size_t i;
	int rc;

	if ((rc = ys_check_keys(f, v, "an override", known)) != 0)
		return rc;
	ov->line = v->line;
	if ((rc = need(f, v, "user", "an override", &x)) != 0 ||
	    (rc = user_read(f, x, "user", ov->user)) != 0)
		return rc;
	if ((rc = need(f, v, "rotation", "an override", &x)) != 0 ||
	    (rc = ys_at(f, x->line, ys_text(x, "rotation", &s, &why), &why)) != 0)
		return rc;
	if (!oncall_rotation_find(o, s, &ov->rotation))
		return ys_fail(f, x->line, "override: no rotation called '%.64s'", s);
	if ((rc = need(f, v, "from", "an override", &x)) != 0 ||
	    (rc = time_read(f, x, "from", &ov->from)) != 0)
		return rc;
	if ((rc = need(f, v, "until", "an override", &x)) != 0 ||
	    (rc = time_read(f, x, "until", &ov->until)) != 0)
		return rc;
	if (ov->until <= ov->from)
		return ys_fail(f, x->line, "override: until must be after from");
	for (i = 0; i < o->n_ov; i++) {
		const override *p = &o->ov[i];
		if (p->rotation == ov->rotation && p->from < ov->until && ov->from < p->until)
			return ys_fail(f, v->line,
			               "override overlaps the one on line %u in rotation %s",
			               p->line, o->rot[ov->rotation].name);
	}
	o->n_ov++;
	return 0;
}

int oncall_parse(const char *text, size_t len, const char *name, oncall **out, bg_err *e)
{
	static const char *const known[] = {"rotations", "overrides", NULL};
	const ys_file f = {name, e};
	const ytree_node *root, *x;
	ytree *t = NULL;
	oncall *o;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = ytree_parse(text, len, name, &t, e)) != 0)
		return rc;
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		ytree_free(t);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	root = ytree_root(t);
	if ((rc = ys_check_keys(&f, root, "the schedule", known)) != 0)
		goto done;
	x = ytree_get(root, "rotations");
	if (x == NULL || x->kind != YTREE_SEQ || x->n == 0 || x->n > BG_MAX_ONCALL_ROTATIONS) {
		rc = ys_fail(&f, x != NULL ? x->line : root->line,
		             "rotations must be a list of 1 to %d rotations",
		             BG_MAX_ONCALL_ROTATIONS);
		goto done;
	}
	if ((o->rot = calloc(x->n, sizeof(*o->rot))) == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; rc == 0 && i < x->n; i++)
		rc = rotation_read(&f, o, x->kids[i]);
	if (rc != 0 || (x = ytree_get(root, "overrides")) == NULL)
		goto done;
	if (x->kind != YTREE_SEQ || x->n > BG_MAX_ONCALL_OVERRIDES) {
		rc = ys_fail(&f, x->line, "overrides must be a list of at most %d overrides",
		             BG_MAX_ONCALL_OVERRIDES);
		goto done;
	}
	if ((o->ov = calloc(x->n > 0 ? x->n : 1, sizeof(*o->ov))) == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; rc == 0 && i < x->n; i++)
		rc = override_read(&f, o, x->kids[i]);
done:
	ytree_free(t);
	if (rc != 0) {
		oncall_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void oncall_free(oncall *o)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->n_rot; i++)
		free(o->rot[i].members);
	free(o->rot);
	free(o->ov);
	free(o);
}

size_t oncall_rotation_count(const oncall *o)
{
	return o->n_rot;
}

const char *oncall_rotation_name(const oncall *o, size_t i)
{
	return i < o->n_rot ? o->rot[i].name : NULL;
}

bool oncall_rotation_find(const oncall *o, const char *name, size_t *i)
{
	size_t k;

	for (k = 0; k < o->n_rot; k++) {
		if (strcmp(o->rot[k].name, name) == 0) {
			*i = k;
			return true;
		}
	}
	return false;
}

int oncall_rotation_who(const oncall *o, size_t i, int64_t now, oncall_shift *out)
{
	const rotation *r;
	int64_t k;
	size_t j;

	if (i >= o->n_rot)
		return BG_ENOTFOUND;
	r = &o->rot[i];
	for (j = 0; j < o->n_ov; j++) {
		const override *ov = &o->ov[j];
		if (ov->rotation == i && ov->from <= now && now < ov->until) {
			*out = (oncall_shift){r->name, ov->user, ov->from, ov->until, true};
			return 0;
		}
	}
	if (now < r->start)
		return BG_ENOTFOUND;
	/* now >= start >= 0, so now - start cannot overflow. */
	k = (now - r->start) / r->shift;
	out->rotation = r->name;
	out->user = r->members[k % (int64_t)r->n_members];
	out->override = false;
	out->from = r->start + k * r->shift;
	out->until = out->from > INT64_MAX - r->shift ? INT64_MAX : out->from + r->shift;
	/* The turn's span, cut by the overrides around now. */
	for (j = 0; j < o->n_ov; j++) {
		const override *ov = &o->ov[j];
		if (ov->rotation != i)
			continue;
		if (ov->until <= now && ov->until > out->from)
			out->from = ov->until;
		if (ov->from > now && ov->from < out->until)
			out->until = ov->from;
	}
	return 0;
}

size_t oncall_who(const oncall *o, int64_t now, oncall_shift *out, size_t cap)
{
	oncall_shift s;
	size_t i, n = 0;

	for (i = 0; i < o->n_rot; i++) {
		if (oncall_rotation_who(o, i, now, &s) != 0)
			continue;
		if (n < cap)
			out[n] = s;
		n++;
	}
	return n;
}

bool oncall_is_on_call(const oncall *o, const char *user, int64_t now)
{
	oncall_shift s;
	size_t i;

	for (i = 0; i < o->n_rot; i++) {
		if (oncall_rotation_who(o, i, now, &s) == 0 && strcmp(s.user, user) == 0)
			return true;
	}
	return false;
}
