/*
 * json.c — the resolved build as JSON (`strata parse`). The shape is
 * documented in docs/internals/dockerfile.md; keep the two in step.
 */
#include "dockerfile/internal.h"

#include <string.h>

static json_t *str_or_null(const char *s)
{
	return s ? strata_json_text(s) : json_null();
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, strata_json_text(v[i]));
	return a;
}

static json_t *vars_json(const struct dockerfile_var *v, size_t n, const char *k, const char *val,
			 bool with_cache)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, k, strata_json_text(v[i].name));
		json_object_set_new(o, val, str_or_null(v[i].value));
		if (with_cache)
			json_object_set_new(o, "cache_key", json_boolean(v[i].cache_key));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *command_json(const struct dockerfile_command *c)
{
	json_t *o = json_object();
	if (c->exec_form) {
		json_object_set_new(o, "form", strata_json_text("exec"));
		json_object_set_new(o, "argv", strv_json(c->argv, c->argc));
	} else {
		json_object_set_new(o, "form", strata_json_text("shell"));
		json_object_set_new(o, "shell", c->shell_argv ? strv_json(c->shell_argv, c->shell_argc)
							      : json_null());
		json_object_set_new(o, "script", strata_json_text(c->shell ? c->shell : ""));
	}
	return o;
}

static json_t *heredocs_json(const struct dockerfile_heredoc *h, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "name", strata_json_text(h[i].name));
		json_object_set_new(o, "content", strata_json_text(h[i].content ? h[i].content : ""));
		json_object_set_new(o, "expand", json_boolean(h[i].expand));
		json_object_set_new(o, "strip_tabs", json_boolean(h[i].strip_tabs));
		json_object_set_new(o, "fd", json_integer(h[i].fd));
		json_object_set_new(o, "line", json_integer(h[i].line));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *int_or_null(long long v, bool set)
{
	return set ? json_integer(v) : json_null();
}

static json_t *mount_json(const struct dockerfile_mount *m)
{
	static const char *const types[] = { "bind", "cache", "tmpfs", "secret", "ssh" };
	static const char *const sharing[] = { "shared", "private", "locked" };
	json_t *o = json_object();
	char mode[16];
	snprintf(mode, sizeof(mode), "%04o", m->mode);
	json_object_set_new(o, "type", strata_json_text(types[m->type]));
	json_object_set_new(o, "target", str_or_null(m->target));
	json_object_set_new(o, "source", str_or_null(m->source));
	json_object_set_new(o, "from", str_or_null(m->from));
	json_object_set_new(o, "from_stage", int_or_null(m->from_stage, m->from_stage >= 0));
	json_object_set_new(o, "id", str_or_null(m->id));
	json_object_set_new(o, "env", str_or_null(m->env));
	json_object_set_new(o, "sharing", m->type == DF_MOUNT_CACHE ? strata_json_text(sharing[m->sharing])
								     : json_null());
	json_object_set_new(o, "mode", m->mode ? strata_json_text(mode) : json_null());
	json_object_set_new(o, "uid", int_or_null(m->uid, m->uid >= 0));
	json_object_set_new(o, "gid", int_or_null(m->gid, m->gid >= 0));
	json_object_set_new(o, "size", int_or_null(m->size, m->size > 0));
	json_object_set_new(o, "readonly", json_boolean(m->readonly));
	json_object_set_new(o, "required", json_boolean(m->required));
	return o;
}

static json_t *step_json(const struct dockerfile_step *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "kind", strata_json_text(dockerfile_kind_name(s->kind)));
	json_object_set_new(o, "line", json_integer(s->line));
	json_object_set_new(o, "end_line", json_integer(s->end_line));
	json_object_set_new(o, "original", strata_json_text(s->original));
	switch (s->kind) {
	case DF_RUN: {
		json_object_set_new(o, "command", command_json(&s->cmd));
		json_t *a = json_array();
		for (size_t i = 0; i < s->nmounts; i++)
			json_array_append_new(a, mount_json(&s->mounts[i]));
		json_object_set_new(o, "mounts", a);
		json_object_set_new(o, "network", str_or_null(s->network));
		json_object_set_new(o, "security", str_or_null(s->security));
		json_object_set_new(o, "heredocs", heredocs_json(s->heredocs, s->nheredocs));
		break;
	}
	case DF_CMD:
	case DF_ENTRYPOINT:
		json_object_set_new(o, "command", command_json(&s->cmd));
		break;
	case DF_SHELL:
		json_object_set_new(o, "shell", strv_json(s->words, s->nwords));
		break;
	case DF_ENV:
	case DF_LABEL:
	case DF_ARG:
		json_object_set_new(o, s->kind == DF_ARG ? "declare" : "vars",
				    vars_json(s->kvs, s->nkvs, "name", "value", false));
		break;
	case DF_EXPOSE:
		json_object_set_new(o, "ports", strv_json(s->words, s->nwords));
		break;
	case DF_VOLUME:
		json_object_set_new(o, "volumes", strv_json(s->words, s->nwords));
		break;
	case DF_USER:
	case DF_WORKDIR:
	case DF_STOPSIGNAL:
	case DF_MAINTAINER:
	case DF_ONBUILD:
		json_object_set_new(o, "value", strata_json_text(s->value ? s->value : ""));
		break;
	case DF_COPY:
	case DF_ADD: {
		const struct dockerfile_copy *c = &s->copy;
		json_object_set_new(o, "sources", strv_json(c->sources, c->nsources));
		json_object_set_new(o, "dest", strata_json_text(c->dest ? c->dest : ""));
		json_object_set_new(o, "from", str_or_null(c->from));
		json_object_set_new(o, "from_stage", int_or_null(c->from_stage, c->from_stage >= 0));
		json_object_set_new(o, "chown", str_or_null(c->chown));
		json_object_set_new(o, "chmod", str_or_null(c->chmod));
		json_object_set_new(o, "link", json_boolean(c->link));
		json_object_set_new(o, "parents", json_boolean(c->parents));
		json_object_set_new(o, "excludes", strv_json(c->excludes, c->nexcludes));
		json_object_set_new(o, "checksum", str_or_null(c->checksum));
		json_object_set_new(o, "keep_git_dir",
				    c->keep_git_dir < 0 ? json_null() : json_boolean(c->keep_git_dir));
		json_object_set_new(o, "unpack", c->unpack < 0 ? json_null() : json_boolean(c->unpack));
		json_object_set_new(o, "heredocs", heredocs_json(s->heredocs, s->nheredocs));
		break;
	}
	case DF_HEALTHCHECK: {
		const struct dockerfile_healthcheck *h = &s->health;
		json_t *hc = json_object();
		json_object_set_new(hc, "none", json_boolean(h->none));
		if (!h->none) {
			json_object_set_new(hc, "command", command_json(&h->cmd));
			json_object_set_new(hc, "interval_ns", int_or_null(h->interval, h->interval));
			json_object_set_new(hc, "timeout_ns", int_or_null(h->timeout, h->timeout));
			json_object_set_new(hc, "start_period_ns",
					    int_or_null(h->start_period, h->start_period));
			json_object_set_new(hc, "start_interval_ns",
					    int_or_null(h->start_interval, h->start_interval));
			json_object_set_new(hc, "retries", int_or_null(h->retries, h->retries >= 0));
		}
		json_object_set_new(o, "healthcheck", hc);
		break;
	}
	default:
		break;
	}
	json_object_set_new(o, "args", vars_json(s->args, s->nargs, "name", "value", true));
	json_object_set_new(o, "env", vars_json(s->env, s->nenv, "name", "value", false));
	return o;
}

json_t *dockerfile_build_to_json(const struct dockerfile_build *b)
{
	const struct dockerfile *df = b->df;
	char buf[128], esc[2] = { df->escape, 0 };
	json_t *o = json_object();
	json_object_set_new(o, "file", strata_json_text(df->name));
	json_object_set_new(o, "escape", strata_json_text(esc));
	json_object_set_new(o, "syntax", str_or_null(df->syntax));
	json_object_set_new(o, "check", str_or_null(df->check));
	json_object_set_new(o, "build_platform",
			    strata_json_text(dockerfile_platform_format(&b->build_platform, buf, sizeof(buf))));
	json_object_set_new(o, "target_platform",
			    strata_json_text(dockerfile_platform_format(&b->target_platform, buf, sizeof(buf))));
	json_t *t = json_object();
	json_object_set_new(t, "index", json_integer((json_int_t)b->target));
	json_object_set_new(t, "name", str_or_null(b->stages[b->target].name));
	json_object_set_new(o, "target", t);
	json_t *need = json_array();
	for (size_t i = 0; i < b->nneeded; i++)
		json_array_append_new(need, json_integer((json_int_t)b->needed[i]));
	json_object_set_new(o, "needed", need);
	json_object_set_new(o, "global_args",
			    vars_json(b->global_args, b->nglobal_args, "name", "value", false));
	json_t *w = strv_json(df->warnings, df->nwarnings);
	for (size_t i = 0; i < b->nwarnings; i++)
		json_array_append_new(w, strata_json_text(b->warnings[i]));
	json_object_set_new(o, "warnings", w);
	json_t *stages = json_array();
	for (size_t i = 0; i < b->nstages; i++) {
		const struct dockerfile_stage *st = &b->stages[i];
		json_t *so = json_object();
		json_object_set_new(so, "index", json_integer((json_int_t)st->index));
		json_object_set_new(so, "name", str_or_null(st->name));
		json_object_set_new(so, "line", json_integer(st->line));
		json_object_set_new(so, "end_line", json_integer(st->end_line));
		json_t *base = json_object();
		switch (st->base_type) {
		case DF_BASE_IMAGE:
			json_object_set_new(base, "type", strata_json_text("image"));
			json_object_set_new(base, "ref", strata_json_text(st->base));
			break;
		case DF_BASE_STAGE:
			json_object_set_new(base, "type", strata_json_text("stage"));
			json_object_set_new(base, "stage", json_integer(st->base_stage));
			break;
		case DF_BASE_SCRATCH:
			json_object_set_new(base, "type", strata_json_text("scratch"));
			break;
		}
		json_object_set_new(so, "base", base);
		json_object_set_new(so, "platform", str_or_null(st->platform));
		json_object_set_new(so, "needed", json_boolean(st->needed));
		json_t *deps = json_array();
		for (size_t d = 0; d < st->ndeps; d++)
			json_array_append_new(deps, json_integer((json_int_t)st->deps[d]));
		json_object_set_new(so, "deps", deps);
		json_t *steps = json_array();
		for (size_t k = 0; k < st->nsteps; k++)
			json_array_append_new(steps, step_json(st->steps[k]));
		json_object_set_new(so, "steps", steps);
		json_array_append_new(stages, so);
	}
	json_object_set_new(o, "stages", stages);
	return o;
}
