import { z } from 'zod';

/**
 * FreeScout conversation ids. FreeScout creates them with `increments('id')`: an unsigned int on
 * MySQL but a signed int4 `serial` on its PostgreSQL install, so 2^31-1 is the largest id any
 * FreeScout can have, and the width of every conversation-id column here. One limit for every
 * route, so an id one route takes is never one another refuses.
 */
export const MAX_CONVERSATION_ID = 2_147_483_647;

export const conversationIdSchema = z.number().int().min(1).max(MAX_CONVERSATION_ID);
