-- The platform's first migration (a stand-in of the Napoleon AI repository's supabase/migrations).
create table public.profiles (
  id uuid primary key,
  clerk_user_id text unique not null,
  created_at timestamptz not null default now()
);
alter table public.profiles enable row level security;
