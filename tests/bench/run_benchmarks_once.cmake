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
