create table public.subscriptions (
  profile_id uuid primary key references public.profiles (id) on delete cascade,
  stripe_subscription_id text unique not null,
  status text not null
);
alter table public.subscriptions enable row level security;
