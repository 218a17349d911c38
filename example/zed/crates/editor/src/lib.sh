# editor: buffers and their views.
editor_open() {
    gpui_window "editor ($1)"
}
