/* Internal: JSON string escaping shared by the logger and JSON writers. */
#ifndef TT_CORE_JSON_ESCAPE_H
#define TT_CORE_JSON_ESCAPE_H
#include <stddef.h>
#include <stdio.h>

/* Escape s into dst (always NUL-terminated, truncated to fit); returns the
 * length written. Control characters become \uXXXX; bytes >= 0x80 are copied
 * as they are (input is expected to be UTF-8). */
size_t tt_json_escape(char *dst, size_t size, const char *s);

/* Write s as a quoted JSON string to f. */
void tt_json_write_string(FILE *f, const char *s);
#endif
