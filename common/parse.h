/*
 * parse: numbers out of text that came from somewhere else (files in /proc
 * and /sys, exit records the monitor wrote, command-line flags, versions in
 * JSON), checked the way atoi and sscanf cannot: a number that overflows,
 * has trailing junk or lies outside the range the caller can hold is an
 * error, never a silent 0 or a wrapped value.
 *
 * The word parsers read one number at *p: leading blanks are skipped, the
 * digits must end at a blank, a newline or the end of the text, and on
 * success *p moves past them, so "0 1711111111" or a /proc/net/dev line is
 * read number by number. The whole-text parsers allow only blanks and
 * newlines around the number.
 */
#ifndef CK_COMMON_PARSE_H
#define CK_COMMON_PARSE_H

#include "common/err.h"

#include <stdint.h>

/* One base-10 signed number in [min, max] at *p; advances *p on success. */
int ck_parse_i64_word(const char **p, int64_t min, int64_t max, int64_t *out, ck_err *err);

/* One unsigned number in base (10 or 16; no sign, no 0x) at *p; advances *p. */
int ck_parse_u64_word(const char **p, int base, uint64_t *out, ck_err *err);

/* All of s is one base-10 number in [min, max] (blanks and newlines around it allowed). */
int ck_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out, ck_err *err);

/* All of s is one unsigned number in base (10 or 16). */
int ck_parse_u64(const char *s, int base, uint64_t *out, ck_err *err);

/* Reads a small text file (at most 4 KiB, such as /proc/self/oom_score_adj
 * or a cgroup counter) that holds one number. */
int ck_read_i64_file(const char *path, int64_t min, int64_t max, int64_t *out, ck_err *err);
int ck_read_u64_file(const char *path, uint64_t *out, ck_err *err);

#endif
