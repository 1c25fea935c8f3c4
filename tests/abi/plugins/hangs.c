/* Never returns from process_request: `plugins validate --timeout` must give
 * up on it instead of hanging the CLI. */
#include "abi_test_plugin.h"

#include <unistd.h>

static bbr_result_t hang(void* instance, bbr_message_t* msg) {
  (void)instance;
  (void)msg;
  for (;;) sleep(1);
  return BBR_CONTINUE;
}

ABI_TEST_EXPORT_REQUEST_TYPE("abi-test-hangs", "never returns from process_request", abi_test_create, hang)
