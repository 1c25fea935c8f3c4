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

static const bbr_plugin_type_t the_type = {sizeof(bbr_plugin_type_t),
                                           "abi-test-hangs",
                                           "1.0.0",
                                           "never returns from process_request",
                                           BBR_CAP_REQUEST,
                                           NULL,
                                           abi_test_create,
                                           abi_test_destroy,
                                           hang,
                                           NULL};
static const bbr_plugin_type_t* const types[] = {&the_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
