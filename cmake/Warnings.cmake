# sockit_warnings: the warning flags every target of ours builds with, on g++ and clang
# alike. Warnings become errors only when SOCKIT_WARNINGS_AS_ERRORS is on (the presets and
# CI turn it on); a user's or packager's build must not fail on a newer compiler's warning.
option(SOCKIT_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)

add_library(sockit_warnings INTERFACE)
target_compile_options(sockit_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                                 -Wnon-virtual-dtor -Wold-style-cast)
if(SOCKIT_WARNINGS_AS_ERRORS)
  target_compile_options(sockit_warnings INTERFACE -Werror)
endif()
