// HDF5 (Debian libhdf5-dev, serial) for reading Keras .h5 weight files. The HDF5 API's constants
// (H5T_NATIVE_FLOAT, H5P_DEFAULT, ...) are macros over global ids that Swift cannot import, so
// this header wraps the few calls needed in small functions with plain C types.
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

/// Opens a file read-only, with HDF5's automatic error printing off. Returns < 0 on failure.
static inline hid_t chdf5_open(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Fis_hdf5(path) <= 0) return -1;
    return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
}

static inline void chdf5_close(hid_t file) { H5Fclose(file); }

/// 1 when every component of the slash-separated `path` exists under `file`.
static inline int chdf5_exists(hid_t file, const char *path) {
    char buf[1024];
    size_t n = strlen(path);
    if (n >= sizeof buf) return 0;
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == 0) {
            memcpy(buf, path, i);
            buf[i] = 0;
            if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) return 0;
        }
    }
    return 1;
}

/// Reads the string-array attribute `name` of the object at `object` (fixed- or variable-length
/// strings) into `out` as consecutive NUL-terminated strings. Returns the number of strings, or
/// -1 (missing attribute, not strings, or `capacity` too small).
static inline long chdf5_string_attribute(hid_t file, const char *object, const char *name, char *out, size_t capacity) {
    if (H5Aexists_by_name(file, object, name, H5P_DEFAULT) <= 0) return -1;
    hid_t attr = H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) return -1;
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    long result = -1;
    if (H5Tget_class(type) == H5T_STRING) {
        hssize_t count = H5Sget_simple_extent_npoints(space);
        size_t used = 0;
        if (H5Tis_variable_str(type) > 0) {
            char **strings = calloc((size_t)count, sizeof(char *));
            hid_t mem = H5Tcopy(H5T_C_S1);
            H5Tset_size(mem, H5T_VARIABLE);
            /* Same character set as the file's (h5py writes UTF-8): HDF5 refuses to convert
               between character sets, and whether it had a cached path depended on earlier calls. */
            H5Tset_cset(mem, H5Tget_cset(type));
            if (H5Aread(attr, mem, strings) >= 0) {
                result = (long)count;
                for (hssize_t i = 0; i < count; i++) {
                    size_t len = strings[i] ? strlen(strings[i]) : 0;
                    if (used + len + 1 > capacity) { result = -1; break; }
                    if (len) memcpy(out + used, strings[i], len);
                    out[used + len] = 0;
                    used += len + 1;
                }
                H5Dvlen_reclaim(mem, space, H5P_DEFAULT, strings);
            }
            H5Tclose(mem);
            free(strings);
        } else {
            size_t width = H5Tget_size(type);
            char *raw = calloc((size_t)count, width);
            if (H5Aread(attr, type, raw) >= 0) {
                result = (long)count;
                for (hssize_t i = 0; i < count; i++) {
                    const char *s = raw + (size_t)i * width;
                    size_t len = strnlen(s, width);
                    if (used + len + 1 > capacity) { result = -1; break; }
                    memcpy(out + used, s, len);
                    out[used + len] = 0;
                    used += len + 1;
                }
            }
            free(raw);
        }
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(attr);
    return result;
}

/// The rank of the dataset at `path` and its extents in `dims` (up to 8); -1 if absent.
static inline int chdf5_dataset_shape(hid_t file, const char *path, unsigned long long *dims) {
    hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t space = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t d[8];
    if (rank > 8) rank = -1;
    else {
        H5Sget_simple_extent_dims(space, d, NULL);
        for (int i = 0; i < rank; i++) dims[i] = d[i];
    }
    H5Sclose(space);
    H5Dclose(ds);
    return rank;
}

/// Reads the dataset at `path` converted to native float32 into `out`. Returns 0 on success.
static inline int chdf5_read_float(hid_t file, const char *path, float *out) {
    hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
    if (ds < 0) return -1;
    herr_t status = H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    H5Dclose(ds);
    return status < 0 ? -1 : 0;
}

typedef struct { char *out; size_t capacity; size_t used; long count; int overflow; } chdf5_listing;

static herr_t chdf5_list_callback(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    (void)group; (void)info;
    chdf5_listing *l = (chdf5_listing *)data;
    size_t len = strlen(name);
    if (l->used + len + 1 > l->capacity) { l->overflow = 1; return 1; }
    memcpy(l->out + l->used, name, len + 1);
    l->used += len + 1;
    l->count += 1;
    return 0;
}

/// The names of the members of the group at `path`, in creation order when tracked (otherwise
/// name order), as consecutive NUL-terminated strings. Returns the count, or -1.
static inline long chdf5_list_group(hid_t file, const char *path, char *out, size_t capacity) {
    hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
    if (g < 0) return -1;
    chdf5_listing l = { out, capacity, 0, 0, 0 };
    herr_t s = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, chdf5_list_callback, &l);
    H5Gclose(g);
    return (s < 0 || l.overflow) ? -1 : l.count;
}
