/* SPDX-License-Identifier: MIT */
/*
 * table.c - smallbmsctl's rows and tables (see table.h).
 */
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int table_text_width(const char *s)
{
	int w = 0;

	/* UTF-8 continuation bytes take no column. */
	for (; *s; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	}
	return w;
}

void table_padded(const struct view *vw, const char *s, int width, bool right,
		  const char *color)
{
	int pad = width - table_text_width(s);

	if (right)
		printf("%*s", pad > 0 ? pad : 0, "");
	if (color && vw->color)
		printf("%s%s%s", color, s, RESET);
	else
		fputs(s, stdout);
	if (!right)
		printf("%*s", pad > 0 ? pad : 0, "");
}

void table_rows(const struct view *vw, const struct row *rows, int n)
{
	int w = 0;

	for (int i = 0; i < n; i++) {
		if (table_text_width(rows[i].label) > w)
			w = table_text_width(rows[i].label);
	}
	for (int i = 0; i < n; i++) {
		printf("%s:%*s  ", rows[i].label,
		       w - table_text_width(rows[i].label), "");
		table_padded(vw, rows[i].value, 0, false, rows[i].color);
		putchar('\n');
	}
}

/* One line: the cells padded to the widths, the last one not padded. */
static void print_line(const struct view *vw, const struct table_def *def,
		       char (*cells)[CELL_LEN], const int *width,
		       const char *color, const char *head_color)
{
	for (unsigned k = 0; k < def->ncols; k++) {
		bool last = k + 1 == def->ncols;
		const char *c = head_color                 ? head_color
				: (int)k == def->color_col ? color
							   : NULL;

		table_padded(vw, cells[k], last ? 0 : width[k],
			     def->right && def->right[k], c);
		fputs(last ? "\n" : "  ", stdout);
	}
}

static void print_table(const struct view *vw, const struct table_def *def,
			char (*cells)[CELL_LEN], const char **colors, size_t n)
{
	char(*head)[CELL_LEN] = calloc(def->ncols, sizeof(*head));
	int *width = calloc(def->ncols, sizeof(*width));

	if (!head || !width) {
		free(head);
		free(width);
		return;
	}
	for (unsigned k = 0; k < def->ncols; k++) {
		snprintf(head[k], CELL_LEN, "%s", def->names[k]);
		width[k] = table_text_width(def->names[k]);
		for (size_t i = 0; i < n; i++) {
			int w = table_text_width(cells[i * def->ncols + k]);
			if (w > width[k])
				width[k] = w;
		}
	}
	print_line(vw, def, head, width, NULL, BOLD);
	for (size_t i = 0; i < n; i++)
		print_line(vw, def, &cells[i * def->ncols], width, colors[i],
			   NULL);
	free(head);
	free(width);
}

int table_show(struct view *vw, const struct table_def *def, const json_t *list)
{
	size_t n = json_array_size(list), i;
	char(*cells)[CELL_LEN];
	const char **colors;
	json_t *item;

	if (!json_is_array(list))
		return client_fail(EX_PROTOCOL, "unexpected answer: no %s list",
				   def->list_key);
	if (n == 0) {
		printf("%s\n", def->empty);
		return EX_OK;
	}
	cells = calloc(n * def->ncols, sizeof(*cells));
	colors = calloc(n, sizeof(*colors));
	if (!cells || !colors) {
		free(cells);
		free(colors);
		return client_fail(EX_PROTOCOL, "out of memory");
	}
	json_array_foreach(list, i, item)
	{
		if (!json_is_object(item))
			vw->bad_key = def->list_key;
		else
			def->fill(vw, &cells[i * def->ncols], &colors[i], item);
	}
	if (!vw->bad_key)
		print_table(vw, def, cells, colors, n);
	free(cells);
	free(colors);
	if (vw->bad_key)
		return client_fail(EX_PROTOCOL,
				   "unexpected answer: '%s' has the wrong type",
				   vw->bad_key);
	return EX_OK;
}
