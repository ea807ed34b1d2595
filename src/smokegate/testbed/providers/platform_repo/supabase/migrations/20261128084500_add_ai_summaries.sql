alter table public.inbox_items add column ai_summary text;
create index inbox_items_profile_received on public.inbox_items (profile_id, received_at desc);
