/* Block I/O traces as the shared data holds them (../shared/data/README.md):
 *   replayed: CSV, no header, one I/O a line, with measured latency:
 *     ts_record_ms,latency_us,io_type,size_bytes,offset_bytes,ts_submit_ms,size_after_replay_bytes
 *   raw: space separated, no latency:
 *     ts_ms devno offset_bytes size_bytes rw
 * io_type / rw: 1 read, 0 write. Readers keep the file's order. */
#ifndef IOLAT_TRACE_H
#define IOLAT_TRACE_H

#include <stddef.h>
#include <stdint.h>

enum trace_format {
	TRACE_REPLAYED = 0,
	TRACE_RAW = 1,
};

struct trace_io {
	double ts_ms;        /* submission (replayed: ts_record_ms) */
	uint32_t latency_us; /* 0 for raw traces */
	uint32_t size;       /* bytes */
	uint64_t offset;     /* bytes */
	uint8_t io_type;     /* 1 read, 0 write */
};

struct trace {
	enum trace_format format;
	struct trace_io *io;
	size_t n;
	size_t n_reads;
};

/* Reads a whole trace, detecting its format from the first data line
 * (commas: replayed; spaces: raw). Blank lines are skipped. Any other
 * malformed line (wrong field count, not a number, io_type not 0/1,
 * negative or out of range values, a line cut short at end of file) fails
 * with "FILE:LINE: what" in err; nothing is returned then. An empty file
 * is an error too. Returns 0 or -1. */
int trace_read(const char *path, struct trace *t, char *err, size_t errlen);

/* The same from an open stream; name is used in messages. */
int trace_read_stream(void *stream, const char *name, struct trace *t,
		      char *err, size_t errlen);

void trace_free(struct trace *t);

#endif
