# Runs every micro-benchmark for a token time and the load tool for a few
# streams in both modes: proves they execute and that the load tool's streams
# all succeed. Measures nothing.
execute_process(COMMAND ${BBR_BENCH} --benchmark_min_time=0.01
  RESULT_VARIABLE bench_result OUTPUT_VARIABLE bench_output ERROR_VARIABLE bench_output)
if(NOT bench_result EQUAL 0 OR bench_output MATCHES "ERROR OCCURRED")
  message(FATAL_ERROR "bbr_bench failed (${bench_result}):\n${bench_output}")
endif()
execute_process(COMMAND ${EXTPROC_LOAD} --mode both --streams 8 --channels 2 --requests 40
                        --seconds 10 --response
  RESULT_VARIABLE load_result OUTPUT_VARIABLE load_output ERROR_VARIABLE load_output)
if(NOT load_result EQUAL 0)
  message(FATAL_ERROR "extproc_load failed (${load_result}):\n${load_output}")
endif()
message(STATUS "${load_output}")
# The first-token tool, a few events with a generous wait (a busy CI machine
# must not fail it): proves it runs and that every event came back.
if(SSE_FIRST_TOKEN)
  execute_process(COMMAND ${SSE_FIRST_TOKEN} --events 20 --streams 1 --wait-ms 5000
    RESULT_VARIABLE sse_result OUTPUT_VARIABLE sse_output ERROR_VARIABLE sse_output)
  if(NOT sse_result EQUAL 0)
    message(FATAL_ERROR "sse_first_token failed (${sse_result}):\n${sse_output}")
  endif()
endif()
