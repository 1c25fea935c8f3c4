# The prefix= of an installed pkg-config file, relocatable: found from the .pc
# file's own place (${pcfiledir}), so an install with
# `cmake --install --prefix <dir>` or a moved tree still points right. An
# absolute libdir has no relative way up: the install prefix is written.
function(bbr_pc_prefix out)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(${out} "${CMAKE_INSTALL_PREFIX}" PARENT_SCOPE)
  else()
    file(RELATIVE_PATH up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
    string(REGEX REPLACE "/$" "" up "${up}")
    set(${out} "\${pcfiledir}/${up}" PARENT_SCOPE)
  endif()
endfunction()
