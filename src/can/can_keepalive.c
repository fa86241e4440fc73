/* SPDX-License-Identifier: MIT */
#include "can_keepalive.h"

bool can_keepalive_seen(struct can_keepalive *k, uint64_t now_us)
{
	bool was = k->ok;

	k->count++;
	/* 0 means never: a frame at time 0 still counts as one. */
	k->last_us = now_us ? now_us : 1;
	k->ok = true;
	return !was;
}

bool can_keepalive_check(struct can_keepalive *k, uint64_t now_us)
{
	if (!k->ok || now_us <= k->last_us ||
	    now_us - k->last_us <= CAN_KEEPALIVE_LIMIT_US)
		return false;
	k->ok = false;
	return true;
}

double can_keepalive_age(const struct can_keepalive *k, uint64_t now_us)
{
	if (!k->last_us)
		return -1.0;
	if (now_us <= k->last_us)
		return 0.0;
	return (double)(now_us - k->last_us) / 1e6;
}
