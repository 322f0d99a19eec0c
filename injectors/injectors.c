/* The table of event kinds. A new kind is one file and one line here. */
#include <stddef.h>
#include <string.h>

#include "injector.h"

extern const struct injector nmi_injector;

static const struct injector *const injectors[EVENT_KIND_COUNT] = {
	[EVENT_NMI] = &nmi_injector,
};

const struct injector *injector_by_name(const char *name)
{
	for (int i = 0; i < EVENT_KIND_COUNT; i++)
		if (strcmp(injectors[i]->name, name) == 0)
			return injectors[i];
	return NULL;
}

const struct injector *injector_for(enum event_kind kind)
{
	return kind < EVENT_KIND_COUNT ? injectors[kind] : NULL;
}

const char *injector_names(void)
{
	static char names[128];

	if (!names[0]) {
		for (int i = 0; i < EVENT_KIND_COUNT; i++) {
			if (i)
				strcat(names, ",");
			strcat(names, injectors[i]->name);
		}
	}
	return names;
}
