#include <stdio.h>
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
