/* kvbench's JSON: the run's settings, every table, the diagnosis and the
 * targets, as one object (stdout, or the file of --json). */
#include "kvbench.h"

static void
json_rows(FILE *f, const struct row *rows, int n)
{
	fprintf(f, "[");
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s\n    ", i ? "," : "");
		row_json(f, &rows[i]);
	}
	fprintf(f, "]");
}

/* A string without quotes or backslashes, as the paths and commands are
 * here; others are replaced, not escaped (a report, not an interchange). */
static void
json_plain(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		fputc(*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 ? '?' : *s, f);
	fputc('"', f);
}

void
json_print(FILE *f, const struct args *a, const struct results *res)
{
	fprintf(f, "{\"keys\": %u, \"seed\": %llu", a->keys, (unsigned long long)a->seed);
	if (res->emulated) {
		fprintf(f, ",\n \"emulation\": {\"label\": \"device emulation, not real devices\", "
			"\"scale\": %g, \"timeline\": \"%s\", \"reads\": %zu, \"warmup_reads\": %zu,"
			"\n  \"traces\": [\"%s\", \"%s\", \"%s\"],\n  \"train\": {\"command\": ",
			a->scale, a->dev ? "dev: warm-up [0,0.25), measured [0.25,0.5)"
					 : "warm-up [0,0.5), measured [0.5,1)",
			a->dev ? a->reads / 2 : a->reads, a->dev ? a->warmup / 2 : a->warmup,
			emu_drive_names[0], emu_drive_names[1], emu_drive_names[2]);
		json_plain(f, res->train.train_cmd);
		fprintf(f, ", \"seconds\": %.2f}, \"calibrate\": {\"command\": ", res->train.train_s);
		json_plain(f, res->train.calib_cmd);
		fprintf(f, ", \"seconds\": %.2f},\n  \"policies\": ", res->train.calib_s);
		json_rows(f, res->emu_rows, res->n_emu);
		fprintf(f, ",\n  \"drive_only_scaled\": ");
		json_rows(f, res->drive_rows, KB_COPIES);
		fprintf(f, ",\n  \"hedged_reads\": %llu, \"hedge_wins\": %llu, \"predicted_slow\": %llu,"
			" \"probes\": %llu, \"probe_after\": %d,\n  \"diagnosis\": ",
			(unsigned long long)res->emu_counts[2].hedges,
			(unsigned long long)res->emu_counts[2].hedge_wins,
			(unsigned long long)res->emu_counts[3].predicted_slow,
			(unsigned long long)res->emu_counts[3].probes, KV_PROBE_AFTER);
		diag_json(f, &res->diag);
		fprintf(f, ",\n  \"warmup\": ");
		row_json(f, &res->warm);
		fprintf(f, ",\n  \"overshoot\": ");
		row_json(f, &res->overshoot);
		fprintf(f, "}");
	}
	if (res->real) {
		fprintf(f, ",\n \"real\": {\"model\": ");
		json_plain(f, res->real_model);
		fprintf(f, ", \"policies\": ");
		json_rows(f, res->real_rows, res->n_real);
		fprintf(f, ",\n  \"predictor_overhead\": {\"pairs\": %zu, \"block\": %zu, "
			"\"primary_ns\": %.1f, \"predict_ns\": %.1f, \"diff_ns\": %.1f, "
			"\"ci95_ns\": %.1f, \"median_diff_ns\": %.1f, \"ratio\": %.4f, "
			"\"target_ns\": %.0f}}",
			res->oh.pairs, res->oh.block, res->oh.primary_ns, res->oh.predict_ns,
			res->oh.diff_ns, res->oh.ci95_ns, res->oh.median_diff_ns,
			res->oh.predict_ns / res->oh.primary_ns, KB_OVERHEAD_TARGET_NS);
	}
	fprintf(f, ",\n \"targets\": [");
	for (int i = 0; i < res->n_targets; i++)
		fprintf(f, "%s\n  {\"target\": \"%s\", \"met\": %s}", i ? "," : "",
			res->targets[i].what, res->targets[i].met ? "true" : "false");
	fprintf(f, "]}\n");
}
