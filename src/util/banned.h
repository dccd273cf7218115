/*
 * banned.h — functions strata never calls (unbounded or thread-unsafe).
 * Included last by util/util.h, so system headers are unaffected: the
 * headers declaring these are included first here, so a file that includes
 * them after util.h (or a -D_FORTIFY_SOURCE build, whose headers define
 * inline wrappers with these names) never sees the macros in them.
 */
#ifndef STRATA_UTIL_BANNED_H
#define STRATA_UTIL_BANNED_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_banned_in_strata

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)
#undef asctime
#define asctime(x) BANNED(asctime)
#undef ctime
#define ctime(x) BANNED(ctime)
#undef gmtime
#define gmtime(x) BANNED(gmtime)
#undef localtime
#define localtime(x) BANNED(localtime)

#endif
