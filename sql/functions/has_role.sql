-- Body of public.has_role(requested_role public.app_role): true when the
-- calling user holds the role. SECURITY DEFINER, search_path = ''; call it in
-- policies as (select public.has_role(...)).
begin
  return exists (
    select 1
      from public.user_roles ur
     where ur.user_id = auth.uid()
       and ur.role = requested_role
  );
end;
