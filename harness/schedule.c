#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

static size_t format_boundary(const struct guest_image *img, uint64_t addr,
			      unsigned exec, char *buf, size_t len)
{
	char name[160];

	image_format_addr(img, addr, name, sizeof(name));
	if (exec > 1)
		return (size_t)snprintf(buf, len, "%s #%u", name, exec);
	return (size_t)snprintf(buf, len, "%s", name);
}

char *schedule_format(const struct guest_image *img, const struct schedule *s,
		      char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (int k = 0; k < s->depth && used < len; k++) {
		const struct schedule_step *st = &s->step[k];
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 k ? " > " : "",
					 injector_for(st->inj.kind)->name);
		if (st->inj.kind == EVENT_DB &&
		    st->inj.db_cause == DB_DATA_BREAKPOINT && used < len) {
			char on[160], by[160];

			used += (size_t)snprintf(
				buf + used, len - used,
				"(data breakpoint on %s, read by the MOV SS at "
				"%s)",
				image_format_addr(img, st->inj.db_watch_addr,
						  on, sizeof(on)),
				image_format_addr(img, st->inj.db_watch_from,
						  by, sizeof(by)));
		}
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "@");
		if (used >= len)
			break;
		used += format_boundary(img, st->addr, st->exec, buf + used,
					len - used);
		if (st->delivered_addr && st->delivered_addr != st->addr &&
		    used < len) {
			used += (size_t)snprintf(buf + used, len - used,
						 " (held to ");
			if (used < len)
				used += format_boundary(img, st->delivered_addr,
							st->delivered_exec,
							buf + used, len - used);
			if (used < len)
				used += (size_t)snprintf(buf + used, len - used,
							 ")");
		}
	}
	return buf;
}

static int parse_event_set(const char *list, unsigned *mask, char *err,
			   size_t errlen)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;

	*mask = 0;
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		const struct injector *inj = injector_by_name(t);

		if (!inj) {
			snprintf(err, errlen,
				 "unknown event kind '%s'; known: %s", t,
				 injector_names());
			rc = -1;
			break;
		}
		*mask |= 1u << inj->kind;
	}
	free(copy);
	if (!rc && !*mask) {
		snprintf(err, errlen, "an event set is empty; known: %s",
			 injector_names());
		rc = -1;
	}
	return rc;
}

int schedule_events_parse(const char *spec, unsigned *levels, char *err,
			  size_t errlen)
{
	char *copy = strdup(spec), *save = NULL;
	int n = 0;

	for (char *t = strtok_r(copy, ":", &save); t;
	     t = strtok_r(NULL, ":", &save)) {
		if (n == SCHEDULE_MAX_DEPTH) {
			snprintf(err, errlen, "more than %d levels",
				 SCHEDULE_MAX_DEPTH);
			n = -1;
			break;
		}
		if (parse_event_set(t, &levels[n], err, errlen)) {
			n = -1;
			break;
		}
		n++;
	}
	free(copy);
	if (n == 0) {
		snprintf(err, errlen, "no event kind; known: %s",
			 injector_names());
		n = -1;
	}
	return n;
}
