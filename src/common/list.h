/* Intrusive circular doubly linked list.
 *
 * A list head and its nodes share one type; an empty list points at itself.
 * Nodes are embedded in the structures they link, and container_of() walks
 * back from a node to its structure. No allocation, no locking: the owner of
 * the list (named at each struct that holds one) serialises access. */
#ifndef MTGT_COMMON_LIST_H
#define MTGT_COMMON_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
	struct list_node *next, *prev;
};

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define LIST_HEAD_INIT(name) { &(name), &(name) }

static inline void list_init(struct list_node *head)
{
	head->next = head;
	head->prev = head;
}

static inline bool list_empty(const struct list_node *head)
{
	return head->next == head;
}

static inline void list_insert_between(struct list_node *node,
				       struct list_node *prev,
				       struct list_node *next)
{
	node->prev = prev;
	node->next = next;
	prev->next = node;
	next->prev = node;
}

static inline void list_add_tail(struct list_node *node, struct list_node *head)
{
	list_insert_between(node, head->prev, head);
}

static inline void list_add_head(struct list_node *node, struct list_node *head)
{
	list_insert_between(node, head, head->next);
}

/* Unlinks a node and leaves it pointing at itself, so a second removal or an
 * emptiness check on the node itself is harmless. */
static inline void list_del(struct list_node *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	list_init(node);
}

static inline bool list_linked(const struct list_node *node)
{
	return node->next != node;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)

#define list_first_entry(head, type, member) \
	list_entry((head)->next, type, member)

#define list_for_each_entry(pos, head, member)                              \
	for (pos = list_entry((head)->next, __typeof__(*pos), member);       \
	     &pos->member != (head);                                         \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))

#define list_for_each_entry_reverse(pos, head, member)                      \
	for (pos = list_entry((head)->prev, __typeof__(*pos), member);       \
	     &pos->member != (head);                                         \
	     pos = list_entry(pos->member.prev, __typeof__(*pos), member))

/* Safe against removal of pos inside the loop body. */
#define list_for_each_entry_safe(pos, tmp, head, member)                    \
	for (pos = list_entry((head)->next, __typeof__(*pos), member),       \
	     tmp = list_entry(pos->member.next, __typeof__(*pos), member);   \
	     &pos->member != (head);                                         \
	     pos = tmp,                                                      \
	     tmp = list_entry(tmp->member.next, __typeof__(*tmp), member))

#endif
