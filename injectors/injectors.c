/* The table of event kinds. A new kind is one file and one line here. */
#include <stddef.h>
#include <string.h>

#include "../guest/ist_abi.h"
#include "injector.h"

extern const struct injector nmi_injector, db_injector, mc_injector,
	irq_injector;

static const struct injector *const injectors[EVENT_KIND_COUNT] = {
	[EVENT_NMI] = &nmi_injector,
	[EVENT_DB] = &db_injector,
	[EVENT_MC] = &mc_injector,
	[EVENT_IRQ] = &irq_injector,
};

void injection_default(struct injection *inj, enum event_kind kind)
{
	memset(inj, 0, sizeof(*inj));
	inj->kind = kind;
	inj->db_cause = DB_INSN_BREAKPOINT;
	inj->db_method = DB_BY_PAYLOAD;
	inj->mc_status = (1ULL << 63) | (1ULL << 61) | (1ULL << 60) |
			 (1ULL << 58); /* VAL, UC, EN, ADDRV */
	inj->mc_addr = 0x1000;
	inj->mcg_status =
		IST_MCG_STATUS_MCIP | IST_MCG_STATUS_RIPV | IST_MCG_STATUS_EIPV;
}

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

const char *event_kind_name(int kind)
{
	return kind >= 0 && kind < EVENT_KIND_COUNT ? injectors[kind]->name
						    : "?";
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
