/* The management socket of tgtd (tgt's IPC, spec §2.1-2.2). Main thread. */
#ifndef MTGT_MGMT_SERVER_H
#define MTGT_MGMT_SERVER_H

struct ev_loop;
struct mgmt_server;

/* Creates the socket for a control port; NULL with a logged reason. */
struct mgmt_server *mgmt_server_start(struct ev_loop *loop, int control_port);
void mgmt_server_stop(struct mgmt_server *srv);

#endif
