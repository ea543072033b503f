# install(CODE) helper: copies SOURCE to DEST (under DESTDIR) unless DEST
# already exists, so an operator's configuration is never overwritten, and
# records it in install_manifest.txt either way it was installed.
function(ck_install_once source dest mode)
    set(target "$ENV{DESTDIR}${dest}")
    if(EXISTS "${target}")
        message(STATUS "Kept existing: ${target}")
        return()
    endif()
    get_filename_component(dir "${target}" DIRECTORY)
    file(MAKE_DIRECTORY "${dir}")
    file(COPY_FILE "${source}" "${target}")
    file(CHMOD "${target}" PERMISSIONS ${mode})
    message(STATUS "Installing: ${target}")
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")
    set(CMAKE_INSTALL_MANIFEST_FILES "${CMAKE_INSTALL_MANIFEST_FILES}" PARENT_SCOPE)
endfunction()
