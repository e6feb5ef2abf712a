# cmake --install: headers, the libraries, a CMake package (sockit::sockit, sockit::tls,
# sockit::auth, sockit::http_server) and sockit.pc, sockit-tls.pc and sockit-auth.pc.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/sockit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS sockit sockit_tls sockit_auth sockit_http_server sockit_websocket EXPORT sockitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT sockitTargets NAMESPACE sockit:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sockit)

configure_package_config_file(cmake/sockitConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/sockitConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sockit)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/sockitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sockitConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/sockitConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sockit)

file(RELATIVE_PATH SOCKIT_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
# liburing: a static libsockit needs it on every link line, a shared one only its own.
if(SOCKIT_HAVE_URING AND BUILD_SHARED_LIBS)
  set(SOCKIT_PC_PRIVATE_LIBS -luring)
elseif(SOCKIT_HAVE_URING)
  set(SOCKIT_PC_LIBS " -luring")
endif()
configure_file(cmake/sockit.pc.in ${CMAKE_CURRENT_BINARY_DIR}/sockit.pc @ONLY)
# The OpenSSL-based libraries get their own .pc files, as they are their own CMake
# components (sockit::tls, sockit::auth): sockit.pc users never link OpenSSL.
configure_file(cmake/sockit-tls.pc.in ${CMAKE_CURRENT_BINARY_DIR}/sockit-tls.pc @ONLY)
configure_file(cmake/sockit-auth.pc.in ${CMAKE_CURRENT_BINARY_DIR}/sockit-auth.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sockit.pc ${CMAKE_CURRENT_BINARY_DIR}/sockit-tls.pc
              ${CMAKE_CURRENT_BINARY_DIR}/sockit-auth.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
