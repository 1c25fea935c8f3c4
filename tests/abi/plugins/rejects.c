/* A guardrail: answers every request with 403 and a JSON body via reject(). */
#include "abi_test_plugin.h"

static bbr_result_t refuse(void* instance, bbr_message_t* msg) {
  static const char body[] = "{\"error\":\"blocked by policy\"}";
  abi_test_api(instance)->reject(msg, 403, body, sizeof(body) - 1);
  return BBR_CONTINUE;
}

ABI_TEST_EXPORT_REQUEST_TYPE("abi-test-rejects", "rejects every request with 403", abi_test_create, refuse)
