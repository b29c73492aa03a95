/* devices.h - device nodes and links in the container's /dev. */
#ifndef SPAWN_DEVICES_H
#define SPAWN_DEVICES_H

struct spec;
struct device_ent;

int device_create(const struct device_ent *d, int rep, const char *root, int hostdev);
int devices_default(const struct spec *s, int rep, const char *root, int hostdev);

#endif /* SPAWN_DEVICES_H */
