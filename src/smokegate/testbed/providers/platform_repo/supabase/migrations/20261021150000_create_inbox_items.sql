create table public.inbox_items (
  id bigint generated always as identity primary key,
  profile_id uuid not null references public.profiles (id) on delete cascade,
  subject text not null,
  received_at timestamptz not null
);
alter table public.inbox_items enable row level security;
