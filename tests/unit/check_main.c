/* SPDX-License-Identifier: MIT */
/*
 * check_main.c: the one Check runner. Suites are discovered from the
 * file names tests/unit/test_NAME.c (each defines suite_NAME()).
 */
#include <stdlib.h>

#include <check.h>

#define SG_SUITE(n) Suite *suite_##n(void);
#include "suites.inc"
#undef SG_SUITE

int
main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

#define SG_SUITE(n) srunner_add_suite(sr, suite_##n());
#include "suites.inc"
#undef SG_SUITE
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
