-- Body of public.handle_new_user(), the trigger that creates a profile row for
-- every new auth.users row. GoTrue inserts users as supabase_auth_admin, which
-- has no rights on public.profiles: the function is SECURITY DEFINER (runs as
-- its owner) with search_path = '' so every name here is schema-qualified.
-- If this raises, sign-up fails with "Database error saving new user", so it
-- only copies two optional fields from the user's metadata.
begin
  insert into public.profiles (id, full_name, avatar_url)
  values (
    new.id,
    new.raw_user_meta_data ->> 'full_name',
    new.raw_user_meta_data ->> 'avatar_url'
  );
  return new;
end;
