/*
 * A minimal unit-test harness: CHECK() records a failure with its line
 * and goes on; t_done() prints a summary and returns the exit status.
 */
#ifndef EVFLOW_T_H
#define EVFLOW_T_H

#include <stdio.h>
#include <string.h>

static unsigned t_checks, t_failed;

#define CHECK(cond) do {						\
	t_checks++;							\
	if (!(cond)) {							\
		t_failed++;						\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
	}								\
} while (0)

#define CHECK_EQ_U(a, b) do {						\
	unsigned long long t_a = (unsigned long long)(a);		\
	unsigned long long t_b = (unsigned long long)(b);		\
	t_checks++;							\
	if (t_a != t_b) {						\
		t_failed++;						\
		fprintf(stderr, "%s:%d: %s == %llu, expected %llu\n",	\
		    __FILE__, __LINE__, #a, t_a, t_b);			\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *t_a = (a), *t_b = (b);				\
	t_checks++;							\
	if (t_a == NULL || t_b == NULL || strcmp(t_a, t_b) != 0) {	\
		t_failed++;						\
		fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",\
		    __FILE__, __LINE__, #a, t_a ? t_a : "(null)",	\
		    t_b ? t_b : "(null)");				\
	}								\
} while (0)

static inline int
t_done(const char *name)
{
	printf("%s: %u checks, %u failed\n", name, t_checks, t_failed);
	return t_failed == 0 && t_checks > 0 ? 0 : 1;
}

#endif
