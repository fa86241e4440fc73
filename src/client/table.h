/* SPDX-License-Identifier: MIT */
/*
 * table.h - smallbmsctl's two layouts: "Label:  value" rows, and one table
 * printer for every list (batteries, ports, settings): a header, columns
 * as wide as their widest cell, right or left aligned, one column
 * optionally coloured per row.
 */
#ifndef SMALLBMS_TABLE_H
#define SMALLBMS_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "client.h"

#define CELL_LEN 64

struct row {
	const char *label;
	char value[256];
	const char *color;
};

#define MAX_ROWS 64

/* "Label:  value", the values aligned. */
void table_rows(const struct view *vw, const struct row *rows, int n);

/* s padded to width columns (UTF-8 aware), in color if any. */
void table_padded(const struct view *vw, const char *s, int width, bool right,
		  const char *color);
/* Terminal columns of a UTF-8 string. */
int table_text_width(const char *s);

/* Fill one row's cells (and *color for color_col) from one list item;
 * sets vw->bad_key on a value of the wrong type. */
typedef void (*table_fill_fn)(struct view *vw, char (*cells)[CELL_LEN],
			      const char **color, const json_t *item);

struct table_def {
	unsigned ncols;
	const char *const *names; /* column titles */
	const bool *right;        /* right-aligned columns; NULL: none */
	int color_col;            /* the column coloured per row; -1: none */
	const char *list_key;     /* for the message when it is no list */
	const char *empty;        /* printed for an empty list */
	table_fill_fn fill;
};

/* The list (an array of objects) as a table; EX_OK or an exit status. */
int table_show(struct view *vw, const struct table_def *def,
	       const json_t *list);

#endif
