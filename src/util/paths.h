/* Where qaterm keeps and finds things: user data (XDG), the bundled assets,
 * and the SQuAD files. Returned strings are static buffers; copy to keep. */
#ifndef QT_PATHS_H
#define QT_PATHS_H

/* $XDG_DATA_HOME/qaterm, else ~/.local/share/qaterm (not created). */
const char *qt_data_home(void);

/* $XDG_CONFIG_HOME/qaterm, else ~/.config/qaterm (not created). */
const char *qt_config_home(void);

/* qt_data_home()/history.db */
const char *qt_default_db_path(void);

/* The bundled assets folder: $QATERM_ASSETS, else ./assets beside the binary
 * (a build in the source tree), else the installed data folder, else the
 * source tree the binary was built from. NULL when none exists. */
const char *qt_assets_dir(void);

/* The bundled demo passages (assets/demo/demo.json), or NULL. */
const char *qt_demo_path(void);

/* The SQuAD folder: $QATERM_SQUAD_DIR, else qt_data_home()/squad if it
 * exists, else ../shared/squad from the source tree. NULL when none. */
const char *qt_squad_dir(void);

int qt_path_is_dir(const char *p);
int qt_path_is_file(const char *p);

#endif
