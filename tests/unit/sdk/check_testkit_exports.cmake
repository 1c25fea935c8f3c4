# Pins libbbr-testkit.so's symbol hygiene (host/src/testkit/testkit.map): every
# defined dynamic symbol is the bbr::testkit API, and none is STB_GNU_UNIQUE.
# cmake -DREADELF=<readelf> -DLIBRARY=<libbbr-testkit.so> -P check_testkit_exports.cmake
execute_process(COMMAND ${READELF} --dyn-syms --wide ${LIBRARY}
  OUTPUT_VARIABLE table RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${LIBRARY}: readelf failed (${rc})")
endif()
string(REPLACE "\n" ";" rows "${table}")
set(api 0)
set(stray)
foreach(row ${rows})
  # Num: Value Size Type Bind Vis Ndx Name
  if(row MATCHES "^ *[0-9]+: +[0-9a-fA-F]+ +[0-9]+ +([A-Z_]+) +([A-Z_]+) +([A-Z_]+) +([A-Z0-9]+) +([^ ]+)")
    set(bind ${CMAKE_MATCH_2})
    set(ndx ${CMAKE_MATCH_4})
    set(name ${CMAKE_MATCH_5})
    if(ndx STREQUAL "UND" OR bind STREQUAL "LOCAL")
      continue()
    endif()
    # _ZN3bbr7testkit / _ZNK3bbr7testkit: functions; _ZT[ISV]N3bbr7testkit:
    # typeinfo, its name, vtables (of bbr::testkit::Error).
    if(bind STREQUAL "UNIQUE" OR NOT name MATCHES "^_Z(T[ISV])?NK?3bbr7testkit")
      list(APPEND stray "${name} (${bind})")
    else()
      math(EXPR api "${api} + 1")
    endif()
  endif()
endforeach()
if(stray)
  message(FATAL_ERROR "${LIBRARY} exports more than bbr::testkit: ${stray}")
endif()
if(api EQUAL 0)
  message(FATAL_ERROR "${LIBRARY} exports nothing of bbr::testkit")
endif()
message(STATUS "${LIBRARY}: ${api} symbols, all bbr::testkit")
