/* process_request fails with BBR_FAIL_FORBIDDEN and an explanation. */
#include "abi_test_plugin.h"

static bbr_result_t forbid(void* instance, bbr_message_t* msg) {
  static const char text[] = "api key not allowed to use this model";
  abi_test_api(instance)->set_error(msg, text, sizeof(text) - 1);
  return BBR_FAIL_FORBIDDEN;
}

ABI_TEST_EXPORT_REQUEST_TYPE("abi-test-fail-forbidden", "fails every request with 403", abi_test_create, forbid)
