/* copyup.h - copy a directory's contents into a fresh mount over it (OCI
 * mount option `tmpcopyup`, as runc and crun implement it).
 */
#ifndef SPAWN_COPYUP_H
#define SPAWN_COPYUP_H

int copyup_tree(int from, int to);

#endif /* SPAWN_COPYUP_H */
