/* SPDX-License-Identifier: MIT */
/*
 * sim_proto.c - registry of the simulator's protocol responders.
 */
#include "sim_proto.h"

#include <stdio.h>
#include <string.h>

#include "sim_daly.h"
#include "sim_jbd.h"
#include "sim_jk.h"
#include "sim_jkpb.h"
#include "sim_pylon.h"
#include "sim_seplos3.h"

static const struct sim_proto_ops *const protos[] = {
	&sim_jbd_ops, &sim_pylontech_ops, &sim_seplos_ops,  &sim_pace_ops,
	&sim_jk_ops,  &sim_jkpb_ops,      &sim_seplos3_ops, &sim_daly_ops,
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

const struct sim_proto_ops *sim_proto_find(const char *name)
{
	for (unsigned i = 0; i < NPROTOS; i++)
		if (strcmp(protos[i]->name, name) == 0)
			return protos[i];
	return NULL;
}

const char *sim_proto_names(void)
{
	static char names[128];

	if (!names[0])
		for (unsigned i = 0; i < NPROTOS; i++)
			snprintf(names + strlen(names),
				 sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", protos[i]->name);
	return names;
}

void sim_proto_view(const struct sim_proto_ops *ops,
		    const struct sim_battery *b, struct sim_view *v)
{
	sim_battery_view(b, v);
	ops->quantize(v);
}
