export default function SignIn() {
  return <main><h1>Sign in</h1></main>;
}
