/* Dereferences NULL in process_request: `plugins validate` must survive it by
 * running each file in a child process. Never load this into a real host. */
#include "abi_test_plugin.h"

static bbr_result_t crash(void* instance, bbr_message_t* msg) {
  volatile int* volatile nowhere = NULL;
  (void)instance;
  (void)msg;
  *nowhere = 42;
  return BBR_CONTINUE;
}

ABI_TEST_EXPORT_REQUEST_TYPE("abi-test-segfaults", "segfaults on every request", abi_test_create, crash)
