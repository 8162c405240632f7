/* Time helpers: microseconds on the monotonic and wall clocks. */
#ifndef EVFLOW_CLOCK_H
#define EVFLOW_CLOCK_H

#include <stdint.h>

uint64_t clock_mono_usec(void);
uint64_t clock_wall_usec(void);
/* Milliseconds from now until `deadline` (monotonic usec), >= 0, capped. */
int	 clock_ms_until(uint64_t, int);

#endif
