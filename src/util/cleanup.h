/*
 * cleanup.h — scope-bound ownership (GCC/clang cleanup attribute).
 *
 *     cleanup_free char *p = NULL;   // freed at scope exit
 *     cleanup_close int fd = -1;     // closed at scope exit if >= 0
 *
 * Hand ownership over with `*out = p; p = NULL;` (or STRATA_STEAL).
 */
#ifndef STRATA_UTIL_CLEANUP_H
#define STRATA_UTIL_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <errno.h>

static inline void strata_freep(void *p) { free(*(void **)p); }
static inline void strata_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void strata_fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void strata_closedirp(DIR **d) { if (*d) closedir(*d); }

#define cleanup_free __attribute__((cleanup(strata_freep)))
#define cleanup_close __attribute__((cleanup(strata_closep)))
#define cleanup_fclose __attribute__((cleanup(strata_fclosep)))
#define cleanup_closedir __attribute__((cleanup(strata_closedirp)))

/* Take the value of a pointer variable and set the variable to NULL. */
#define STRATA_STEAL(p) ({ __typeof__(p) _s = (p); (p) = NULL; _s; })
/* Take an fd and set the variable to -1. */
#define STRATA_STEAL_FD(fd) ({ int _f = (fd); (fd) = -1; _f; })

#define STRATA_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
